import type { ReactNode } from "react";
import type { ServerReport } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { formatDate, formatMs } from "./format";
import { visible } from "./visible";

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="grid gap-x-4 py-1.5 sm:grid-cols-[11rem_1fr] border-b border-line last:border-b-0">
      <dt className="text-sm font-semibold text-muted">{term}</dt>
      <dd className="min-w-0 text-sm">{children}</dd>
    </div>
  );
}

function YesNo({ value, yes, no, good }: { value: boolean | null; yes: string; no: string; good: boolean }) {
  if (value === null) return <span className="text-muted">unknown</span>;
  const ok = value === good;
  return <Badge tone={ok ? "ok" : "warn"} icon={ok ? "✓" : "!"}>{value ? yes : no}</Badge>;
}

const mono = "font-mono text-[0.8125rem] wrap-anywhere whitespace-pre-wrap";

/** What the server told us about itself: greeting, EHLO, TLS, AUTH, reverse DNS. */
export function ServerFacts({ server }: { server: ServerReport }) {
  const tls = server.tls;
  return (
    <dl>
      <Fact term="Greeting">
        {server.banner !== null ? <span className={mono}>{server.greetingCode} {visible(server.banner)}</span> : <span className="text-muted">none received</span>}
      </Fact>
      <Fact term={server.usedHelo ? "HELO name" : "EHLO name"}>
        {server.ehloName !== null ? <span className={mono}>{visible(server.ehloName)}</span> : <span className="text-muted">–</span>}
        {server.usedHelo ? <span className="block text-xs text-muted">EHLO was refused; fell back to HELO.</span> : null}
      </Fact>
      <Fact term="Extensions">
        {server.extensions.length ? (
          <ul className="flex flex-wrap gap-1">
            {server.extensions.map((e, i) => (
              <li key={i} className={`${mono} rounded bg-sunken px-1.5`}>{visible(e)}</li>
            ))}
          </ul>
        ) : (
          <span className="text-muted">none</span>
        )}
      </Fact>
      <Fact term="STARTTLS">
        {server.starttls.offered ? (
          <Badge tone="ok" icon="✓">offered{server.starttls.required ? " and required" : ""}</Badge>
        ) : tls?.mode === "implicit" ? (
          <Badge tone="ok" icon="✓">implicit TLS (port {server.port})</Badge>
        ) : (
          <Badge tone="warn" icon="!">not offered</Badge>
        )}
      </Fact>
      {tls ? (
        <>
          <Fact term="TLS">
            {tls.error ? (
              <span className="text-danger">handshake failed: {visible(tls.error)}</span>
            ) : (
              <span className={mono}>
                {tls.protocol ?? "?"} · {tls.cipher ?? "?"} · {formatMs(tls.handshakeMs)}
              </span>
            )}
          </Fact>
          <Fact term="Certificate">
            <span className="block">
              <span className="text-muted">subject </span>
              <span className={mono}>{tls.subject ? visible(tls.subject) : "–"}</span>
            </span>
            <span className="block">
              <span className="text-muted">issuer </span>
              <span className={mono}>{tls.issuer ? visible(tls.issuer) : "–"}</span>
            </span>
            {tls.subjectAltNames.length ? (
              <span className="block">
                <span className="text-muted">names </span>
                <span className={mono}>{tls.subjectAltNames.map(visible).join(", ")}</span>
              </span>
            ) : null}
            <span className="mt-1 flex flex-wrap gap-1">
              <YesNo value={tls.expired} yes={`expired ${formatDate(tls.validTo)}`} no={`valid until ${formatDate(tls.validTo)}`} good={false} />
              <YesNo value={tls.hostnameMatch} yes={`names ${server.host}`} no={`does not name ${server.host}`} good={true} />
              <YesNo value={tls.selfSigned} yes="self-signed" no="CA-issued" good={false} />
              <YesNo value={tls.authorized} yes="chain verifies" no={`chain does not verify${tls.authorizationError ? ` (${tls.authorizationError})` : ""}`} good={true} />
            </span>
          </Fact>
        </>
      ) : null}
      <Fact term="AUTH">
        {server.auth.mechanisms.length ? (
          <>
            <span className={mono}>{server.auth.mechanisms.map(visible).join(" ")}</span>{" "}
            {server.auth.offeredBeforeTls ? (
              <Badge tone="warn" icon="!">offered before TLS</Badge>
            ) : (
              <Badge tone="ok" icon="✓">only after TLS</Badge>
            )}
          </>
        ) : (
          <span className="text-muted">not offered (on this connection)</span>
        )}
      </Fact>
      <Fact term="Reverse DNS (PTR)">
        {server.ptr.length ? <span className={mono}>{server.ptr.map(visible).join(", ")}</span> : <span className="text-muted">no PTR record</span>}{" "}
        {server.ptr.length ? <YesNo value={server.ptrMatches} yes="matches" no="does not match the server's name" good={true} /> : null}
      </Fact>
      <Fact term="Timings">
        <span className={mono}>
          connect {formatMs(server.timings.connectMs)} · greeting {formatMs(server.timings.greetingMs)} · EHLO {formatMs(server.timings.ehloMs)}
          {server.timings.tlsMs != null ? ` · TLS ${formatMs(server.timings.tlsMs)}` : ""} · total {formatMs(server.timings.totalMs)}
        </span>
      </Fact>
    </dl>
  );
}
