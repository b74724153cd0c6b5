import type { CaseDefinition } from "./types";

/** Scope name for recipients with no domain: the server qualifies them with its own. */
export const UNQUALIFIED_SCOPE = "(unqualified)";

export interface CaseContext {
  senderLocalPart: string;
  senderDomain: string;
  recipientLocalPart: string;
  /** The third-party domain the relay cases try to reach. */
  recipientDomain: string;
  /** The server's own name: the MX host, the host typed, or a validated EHLO name. */
  serverName: string;
  /** The server's address, e.g. "192.0.2.1" or "2001:db8::1". */
  ip: string;
  /** The domain that was checked, when the target was a name. */
  targetDomain: string | null;
}

/** SMTP address literal of an IP (RFC 5321 4.1.3): [192.0.2.1] or [IPv6:2001:db8::1]. */
export function addressLiteral(ip: string): string {
  return ip.includes(":") ? `[IPv6:${ip}]` : `[${ip}]`;
}

/**
 * The sender variants: each is a MAIL FROM the server should refuse to relay for, paired with
 * the plain third-party recipient, so a case proves what its title says.
 */
export function senderCases(ctx: CaseContext): CaseDefinition[] {
  const { senderLocalPart: from, recipientDomain: rd, serverName, targetDomain } = ctx;
  const rcptTo = `${ctx.recipientLocalPart}@${rd}`;
  const ipLit = addressLiteral(ctx.ip);
  const sender = (id: string, title: string, mailFrom: string, nmap?: number): CaseDefinition => ({
    id, title, group: "sender", mailFrom, rcptTo, localScope: null, ...(nmap ? { nmap } : {}),
  });
  const cases = [
    sender("third-party", "Plain relay: outside sender to an outside recipient", `${from}@${ctx.senderDomain}`, 2),
    sender("null-sender", "Null sender (bounce address) to an outside recipient", "", 1),
    sender("sender-server-name", "Sender at the server's own host name", `${from}@${serverName}`, 3),
    sender("sender-ip-literal", "Sender at the server's IP address literal", `${from}@${ipLit}`, 4),
    sender("sender-recipient-domain", "Sender in the recipient's own domain", `${from}@${rd}`),
    sender("sender-unqualified", "Sender without a domain", from),
  ];
  if (targetDomain && targetDomain !== serverName) {
    cases.splice(3, 0, sender("sender-target-domain", "Sender spoofing the checked domain", `${from}@${targetDomain}`));
  }
  return cases;
}

/**
 * The address tricks of nmap's smtp-open-relay (forms 5-16) and a trailing "@": recipients that
 * smuggle the outside domain past a relay check. Each goes with a sender the server accepted, so
 * a refusal is about the recipient. `localScope` names the server's own domain the address
 * literally ends in: a catch-all there makes an accept ambiguous.
 */
export function recipientCases(ctx: CaseContext, sender: string): CaseDefinition[] {
  const { recipientLocalPart: to, recipientDomain: rd, serverName: srv } = ctx;
  const ip = addressLiteral(ctx.ip);
  const rcpt = (id: string, title: string, rcptTo: string, localScope: string | null, nmap?: number): CaseDefinition => ({
    id, title, group: "recipient", mailFrom: sender, rcptTo, localScope, ...(nmap ? { nmap } : {}),
  });
  return [
    rcpt("percent-hack-ip-literal", "Percent hack via the IP literal", `${to}%${rd}@${ip}`, ip, 5),
    rcpt("percent-hack-server-name", "Percent hack via the server name", `${to}%${rd}@${srv}`, srv, 6),
    rcpt("quoted-at", "Quoted local part holding the outside address", `"${to}@${rd}"`, UNQUALIFIED_SCOPE, 7),
    rcpt("quoted-percent", "Quoted local part with a percent hack", `"${to}%${rd}"`, UNQUALIFIED_SCOPE, 8),
    rcpt("double-at-ip-literal", "Two @ signs, ending in the IP literal", `${to}@${rd}@${ip}`, ip, 9),
    rcpt("quoted-at-ip-literal", "Quoted outside address at the IP literal", `"${to}@${rd}"@${ip}`, ip, 10),
    rcpt("double-at-server-name", "Two @ signs, ending in the server name", `${to}@${rd}@${srv}`, srv, 11),
    rcpt("source-route-ip-literal", "Source route through the IP literal", `@${ip}:${to}@${rd}`, null, 12),
    rcpt("source-route-server-name", "Source route through the server name", `@${srv}:${to}@${rd}`, null, 13),
    rcpt("bang-path", "UUCP bang path", `${rd}!${to}`, UNQUALIFIED_SCOPE, 14),
    rcpt("bang-path-ip-literal", "Bang path at the IP literal", `${rd}!${to}@${ip}`, ip, 15),
    rcpt("bang-path-server-name", "Bang path at the server name", `${rd}!${to}@${srv}`, srv, 16),
    rcpt("trailing-at", "Outside address with a trailing @", `${to}@${rd}@`, null),
  ];
}

/**
 * Baseline: does the server take mail at all (postmaster, which RFC 5321 requires), and is it a
 * catch-all for each of its own domains the tricks address (a random local part accepted)?
 */
export function baselineCases(ctx: CaseContext, sender: string, ownDomain: string, scopes: string[], token: string): CaseDefinition[] {
  const base = (id: string, title: string, rcptTo: string, localScope: string | null): CaseDefinition => ({
    id, title, group: "baseline", mailFrom: sender, rcptTo, localScope,
  });
  const random = `rc-${token}`;
  const scopeId: Record<string, string> = {
    [addressLiteral(ctx.ip)]: "ip-literal",
    [UNQUALIFIED_SCOPE]: "unqualified",
    [ctx.serverName]: "server-name",
    [ownDomain]: "own-domain",
  };
  const all = [...new Set([ownDomain, ...scopes])];
  return [
    base("baseline-postmaster", `Postmaster at the server's own domain (${ownDomain})`, postmasterAt(ownDomain), ownDomain),
    ...all.map((scope) =>
      base(
        `baseline-catch-all-${scopeId[scope] ?? "own-domain"}`,
        scope === UNQUALIFIED_SCOPE ? "Random recipient without a domain (catch-all?)" : `Random recipient at ${scope} (catch-all?)`,
        scope === UNQUALIFIED_SCOPE ? random : `${random}@${scope}`,
        scope,
      ),
    ),
  ];
}

function postmasterAt(domain: string): string {
  return domain === UNQUALIFIED_SCOPE ? "postmaster" : `postmaster@${domain}`;
}

/** Every distinct local scope the recipient tricks address. */
export function scopesOf(cases: CaseDefinition[]): string[] {
  return [...new Set(cases.map((c) => c.localScope).filter((s): s is string => s !== null))];
}
