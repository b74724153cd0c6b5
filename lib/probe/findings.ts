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
    const daysLeft = certificateDaysLeft(tls);
    if (!tls.expired && daysLeft !== null && daysLeft >= 0 && daysLeft < CERT_EXPIRY_WARNING_DAYS) {
      add("cert-expires-soon", "warning", `The TLS certificate expires in ${daysLeft === 1 ? "1 day" : `${daysLeft} days`} (on ${tls.validTo}); renew it before senders that check certificates stop delivering.`);
    }
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

/** A certificate that expires within this many days is worth a warning (renewal often fails quietly). */
export const CERT_EXPIRY_WARNING_DAYS = 14;

/** Whole days from `now` until the certificate's end of validity (negative after it); null when unknown. */
export function certificateDaysLeft(tls: Pick<NonNullable<ServerReport["tls"]>, "validTo">, now = Date.now()): number | null {
  const end = tls.validTo ? Date.parse(tls.validTo) : Number.NaN;
  return Number.isNaN(end) ? null : Math.floor((end - now) / 86_400_000);
}
