import type { ReactNode } from "react";
import { refusalReply } from "@/lib/advice/summarize-server";
import type { ConnectionStatus, ServerReport } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { formatDate, formatMs } from "./format";
import { visible } from "./visible";

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt className="text-sm font-semibold text-muted">{term}</dt>
      <dd className="min-w-0 text-sm">{children}</dd>
    </div>
  );
}

/** A fact that was not established shows nothing, never a bare "unknown". */
function YesNo({ value, yes, no, good }: { value: boolean | null; yes: string; no: string; good: boolean }) {
  if (value === null) return null;
  const ok = value === good;
  return <Badge tone={ok ? "ok" : "warn"} icon={ok ? "✓" : "!"}>{value ? yes : no}</Badge>;
}

const mono = "font-mono text-[0.8125rem] wrap-anywhere whitespace-pre-wrap";

/** Statuses where no connection was made: the server said nothing at all. */
const NO_CONNECTION: ConnectionStatus[] = ["refused", "connect-timeout", "unreachable", "policy-refused", "aborted"];

/**
 * What the server told us about itself: greeting, EHLO, TLS, AUTH, reverse DNS. Only what was
 * observed: a server that refused us in its greeting shows that refusal and nothing about
 * STARTTLS or AUTH, which it never got to offer.
 */
export function ServerFacts({ server }: { server: ServerReport }) {
  const tls = server.tls;
  const refusal = refusalReply(server);
  const connected = !NO_CONNECTION.includes(server.status);
  const ehloDone = server.ehloName !== null || server.extensions.length > 0;
  const t = server.timings;
  const timings = [
    t.connectMs != null ? `connect ${formatMs(t.connectMs)}` : null,
    t.greetingMs != null ? `greeting ${formatMs(t.greetingMs)}` : null,
    t.ehloMs != null ? `EHLO ${formatMs(t.ehloMs)}` : null,
    t.tlsMs != null ? `TLS ${formatMs(t.tlsMs)}` : null,
    `total ${formatMs(t.totalMs)}`,
  ].filter(Boolean);
  return (
    <dl>
      {!connected ? (
        <Fact term="Connection">
          <span>No connection was made, so the server told us nothing about itself.</span>
        </Fact>
      ) : server.banner !== null ? (
        <Fact term="Greeting">
          <span className={mono}>{server.greetingCode} {visible(server.banner)}</span>
        </Fact>
      ) : refusal ? (
        <Fact term="Greeting">
          <span className={mono}>{visible(refusal)}</span> <Badge tone="warn" icon="!">refused us</Badge>
        </Fact>
      ) : (
        <Fact term="Greeting">
          <span className="text-muted">none received</span>
        </Fact>
      )}
      {connected && !ehloDone ? (
        <Fact term="EHLO">
          <span className="text-muted">Not reached: the session ended before it, so nothing is known of the server&apos;s extensions, STARTTLS or AUTH.</span>
        </Fact>
      ) : null}
      {ehloDone ? (
        <>
          <Fact term={server.usedHelo ? "HELO name" : "EHLO name"}>
            {server.ehloName !== null ? <span className={mono}>{visible(server.ehloName)}</span> : <span className="text-muted">–</span>}
            {server.usedHelo ? <span className="block text-xs text-muted">EHLO was refused; fell back to HELO.</span> : null}
          </Fact>
          <Fact term="Extensions">
            {server.extensions.length ? (
              <ul className="flex flex-wrap gap-1">
                {server.extensions.map((e, i) => (
                  <li key={i} className="ext">{visible(e)}</li>
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
        </>
      ) : null}
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
              {tls.hostnameMatch === null && server.host === server.ip ? (
                <span className="text-sm text-muted">name not checked: the server was given as an IP address</span>
              ) : (
                <YesNo value={tls.hostnameMatch} yes={`names ${server.host}`} no={`does not name ${server.host}`} good={true} />
              )}
              <YesNo value={tls.selfSigned} yes="self-signed" no="CA-issued" good={false} />
              <YesNo value={tls.authorized} yes="chain verifies" no={`chain does not verify${tls.authorizationError ? ` (${tls.authorizationError})` : ""}`} good={true} />
            </span>
          </Fact>
        </>
      ) : null}
      <Fact term="Reverse DNS (PTR)">
        {server.ptr.length ? <span className={mono}>{server.ptr.map(visible).join(", ")}</span> : <span className="text-muted">no PTR record</span>}{" "}
        {server.ptr.length ? <YesNo value={server.ptrMatches} yes="matches" no="does not match the server's name" good={true} /> : null}
      </Fact>
      <Fact term="Timings">
        <span className={mono}>{timings.join(" · ")}</span>
      </Fact>
    </dl>
  );
}
