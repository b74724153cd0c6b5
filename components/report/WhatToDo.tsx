import { DISPLAY_NAMES, type Advice, type AdviceItem } from "@/lib/advice";
import type { ServerReport } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { CodeText } from "./CodeText";
import { serverKey } from "./format";
import { SEVERITY } from "./labels";
import { visible } from "./visible";

export interface AdvisedServer {
  server: ServerReport;
  advice: Advice;
}

const RANK = { critical: 0, warning: 1, info: 2 } as const;

/**
 * What to do, right under the verdict: one card per root cause, most severe first, with the
 * steps for the software relaycheck recognised. The steps of a critical card are open; the others
 * fold. With several servers, the cards go under the name of the server they are about, the
 * server with the most severe problem first.
 */
export function WhatToDo({ servers }: { servers: AdvisedServer[] }) {
  const ordered = [...servers].sort((a, b) => rankOf(a) - rankOf(b));
  const several = servers.length > 1;
  return (
    <section aria-labelledby="fix-h" className="card space-y-4 p-4 sm:p-6" data-section="what-to-do">
      <h2 id="fix-h" className="text-xl font-bold">What to do</h2>
      {ordered.map(({ server, advice }) => (
        <div key={serverKey(server.ip, server.port)} className="space-y-3">
          {several ? (
            <h3 className="text-base font-semibold">
              {server.host} <span className="font-mono text-sm font-normal text-muted">{serverKey(server.ip, server.port)}</span>
            </h3>
          ) : null}
          <Software advice={advice} />
          {advice.items.length ? (
            <ul className="space-y-3">
              {advice.items.map((item) => (
                <Card key={item.id} item={item} />
              ))}
            </ul>
          ) : (
            <p className="text-sm text-muted">Nothing to change on this server.</p>
          )}
        </div>
      ))}
    </section>
  );
}

function rankOf({ advice }: AdvisedServer): number {
  return Math.min(3, ...advice.items.map((i) => RANK[i.severity]));
}

function Software({ advice }: { advice: Advice }) {
  const s = advice.software;
  if (!s) return null;
  return (
    <div className="text-sm">
      Server software: <strong>{DISPLAY_NAMES[s.name] ?? s.name}</strong> <span className="text-muted">({s.confidence} confidence)</span>
      {s.evidence.length ? (
        <details className="mt-1">
          <summary className="text-muted">Why relaycheck thinks so</summary>
          <ul className="mt-1 list-disc pl-5 text-muted">
            {s.evidence.map((e, i) => (
              <li key={i}>{visible(e)}</li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}

function Card({ item }: { item: AdviceItem }) {
  const s = SEVERITY[item.severity];
  const steps = item.fix ? (
    <>
      <ol className="mt-1 list-decimal space-y-1 pl-5 text-sm">
        {item.fix.steps.map((step, i) => (
          <li key={i} className="whitespace-pre-wrap">
            <CodeText text={step} />
          </li>
        ))}
      </ol>
      {item.fix.docs && /^https?:\/\//.test(item.fix.docs) ? (
        <p className="mt-1 text-sm">
          <a href={item.fix.docs} rel="noreferrer noopener">
            Documentation for {item.fix.software}
          </a>
        </p>
      ) : null}
    </>
  ) : null;
  return (
    <li className={`rounded border border-line p-3 ${item.severity === "critical" ? "border-l-4 border-l-danger" : ""}`} data-severity={item.severity} data-advice={item.id}>
      <p className="flex flex-wrap items-baseline gap-2">
        <Badge tone={s.tone} icon={s.icon}>{s.label}</Badge>
        <strong>
          <CodeText text={item.title} />
        </strong>
      </p>
      <p className="mt-1 text-sm">
        <CodeText text={item.detail} />
      </p>
      {item.fix ? (
        item.severity === "critical" ? (
          <div className="mt-2">
            <p className="text-sm font-semibold">How to fix it on {item.fix.software}</p>
            {steps}
          </div>
        ) : (
          <details className="mt-2">
            <summary className="text-sm font-semibold">How to fix it on {item.fix.software}</summary>
            {steps}
          </details>
        )
      ) : null}
    </li>
  );
}
