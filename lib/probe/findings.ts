import { escapeText } from "./escape-text";
import type { Finding, FindingId, ServerReport } from "./types";

const OLD_TLS = new Set(["SSLv3", "TLSv1", "TLSv1.1"]);

/**
 * What else looks wrong on a server, from facts seen on the wire (never from banner words):
 * AUTH offered in plaintext, no STARTTLS, weak or broken TLS, PTR problems. The messages quote
 * what the server sent (mechanisms, names, TLS errors): each passes through escapeText.
 */
export function serverFindings(server: ServerReport): Finding[] {
  const findings: Finding[] = [];
  const add = (id: FindingId, severity: Finding["severity"], message: string) => findings.push({ id, severity, message: escapeText(message) });
  if (server.status !== "ok") return findings;

  if (server.auth.offeredBeforeTls) {
    add("auth-before-tls", "warning", `AUTH (${server.auth.mechanisms.join(" ") || "?"}) is offered before TLS: passwords can cross the network in clear text.`);
  }
  if (server.port !== 465 && !server.starttls.offered) {
    add("no-starttls", "warning", "The server does not offer STARTTLS: mail to it travels unencrypted.");
  }
  const tls = server.tls;
  if (tls?.error) add("tls-failed", "warning", `STARTTLS is offered but the TLS handshake failed: ${tls.error}.`);
  if (tls && !tls.error) {
    if (tls.protocol && OLD_TLS.has(tls.protocol)) add("tls-old-protocol", "warning", `The server negotiated ${tls.protocol}, which is obsolete; offer TLS 1.2 or later.`);
    if (tls.expired) add("cert-expired", "warning", `The TLS certificate is outside its validity period (valid until ${tls.validTo ?? "?"}).`);
    if (tls.selfSigned) add("cert-self-signed", "info", "The TLS certificate is self-signed.");
    if (tls.hostnameMatch === false) add("cert-hostname-mismatch", "info", `The TLS certificate does not name ${server.host}.`);
  }
  if (server.usedHelo) add("helo-only", "info", "The server does not understand EHLO (ESMTP); only HELO works.");
  if (server.ptr.length === 0 && server.ptrMatches !== null) {
    add("ptr-missing", "info", `${server.ip} has no reverse DNS (PTR) name; many receivers distrust mail from such addresses.`);
  } else if (server.ptrMatches === false) {
    add("ptr-mismatch", "info", `The reverse DNS of ${server.ip} (${server.ptr.join(", ")}) does not match the name the server gives (${server.ehloName ?? "?"}) or does not resolve back to the address.`);
  }
  return findings;
}
