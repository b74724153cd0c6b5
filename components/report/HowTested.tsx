import type { CheckView } from "@/lib/checks/types";
import { formatMs } from "./format";
import { visible } from "./visible";

/** How the target was resolved and probed: MX records, refused addresses, our own settings. */
export function HowTested({ view }: { view: CheckView }) {
  const r = view.resolution;
  return (
    <div className="space-y-2 text-sm">
      {r ? (
        <>
          {r.nullMx ? <p>The domain publishes a null MX (RFC 7505): it says it accepts no mail at all.</p> : null}
          {r.mx.length ? (
            <p>
              MX records:{" "}
              {r.mx.map((m, i) => (
                <span key={i} className="font-mono">
                  {i ? ", " : ""}
                  {m.preference} {m.exchange}
                </span>
              ))}
              <span className="text-muted"> (resolved in {formatMs(r.durationMs)})</span>
            </p>
          ) : view.target.kind === "domain" && r.implicitMx ? (
            <p>No MX records: the domain&apos;s own address was tested (implicit MX).</p>
          ) : null}
          {r.hosts.filter((h) => h.error).map((h) => (
            <p key={h.host}>
              <span className="font-mono">{h.host}</span>: {visible(h.error ?? "")}
            </p>
          ))}
          {r.refused.length ? (
            <div>
              <p>Not tested (the service does not connect to these addresses):</p>
              <ul className="list-disc pl-5">
                {r.refused.map((x, i) => (
                  <li key={i}>
                    <span className="font-mono">{x.host} {x.ip}:{x.port}</span> — {x.reason}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
          {r.errors.map((e, i) => (
            <p key={i} className="text-warn">{visible(e)}</p>
          ))}
        </>
      ) : null}
      {view.options ? (
        <p>
          Ports {view.options.ports.join(", ")}; we introduced ourselves as <span className="font-mono">{view.options.ehloName}</span>, sent from{" "}
          <span className="font-mono">@{view.options.senderDomain}</span> and tried to relay to <span className="font-mono">@{view.options.recipientDomain}</span>, a reserved
          domain nobody can own.
        </p>
      ) : null}
      <p>
        No mail was sent: every test stopped after <span className="font-mono">RCPT TO</span> and never reached <span className="font-mono">DATA</span>.
      </p>
    </div>
  );
}
