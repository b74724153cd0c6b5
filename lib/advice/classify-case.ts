import type { CaseResult, ServerReport } from "@/lib/probe/types";
import type { CaseKind } from "./types";

export type { CaseKind };

/**
 * Classifies a case by its id when the id says what it is, else by the addresses it sent. The
 * engine's ids are stable but this module must not depend on their exact spelling.
 */
export function classifyCase(c: CaseResult, ownDomains: string[]): CaseKind | null {
  if (c.group === "baseline") return null;
  const id = c.id.toLowerCase();
  if (c.group === "sender") return senderKind(id, c.mailFrom, ownDomains);
  return recipientKind(id, c.rcptTo);
}

function senderKind(id: string, mailFrom: string, ownDomains: string[]): CaseKind {
  // The engine's plain relay case: our own sender to the outside recipient.
  if (id === "third-party" || id.includes("plain")) return "plain";
  if (mailFrom === "" || id.includes("null")) return "null-sender";
  if (id.includes("unqualified") || !mailFrom.includes("@")) return "unqualified-sender";
  const domain = mailFrom.slice(mailFrom.lastIndexOf("@") + 1).toLowerCase();
  if (domain.startsWith("[") || id.includes("ip-literal")) return "sender-ip-literal";
  if (id.includes("spoof") || id.includes("own") || ownDomains.some((d) => domain === d || domain.endsWith(`.${d}`))) {
    return "spoofed-own-sender";
  }
  return "other-sender";
}

function recipientKind(id: string, rcptTo: string): CaseKind {
  const byId: [string, CaseKind][] = [
    ["percent", "percent-hack"],
    ["bang", "bang-path"],
    ["source-route", "source-route"],
    ["quoted", "quoted-local-part"],
    ["double-at", "double-at"],
    ["multiple-at", "double-at"],
    ["trailing-at", "trailing-at"],
  ];
  for (const [word, kind] of byId) if (id.includes(word)) return kind;

  if (rcptTo.startsWith("@") && rcptTo.includes(":")) return "source-route";
  if (rcptTo.startsWith('"')) return "quoted-local-part";
  if (rcptTo.endsWith("@")) return "trailing-at";
  const at = rcptTo.lastIndexOf("@");
  const local = at >= 0 ? rcptTo.slice(0, at) : rcptTo;
  if (local.includes("!")) return "bang-path";
  if (local.includes("%")) return "percent-hack";
  if (local.includes("@")) return "double-at";
  if (rcptTo.slice(at + 1).startsWith("[")) return "ip-literal-recipient";
  return "plain";
}

/** The recipient tricks, and the sender variants, in the order advice lists them. */
export const ROUTING_KINDS: CaseKind[] = ["percent-hack", "bang-path", "source-route", "quoted-local-part", "double-at", "trailing-at", "ip-literal-recipient"];
export const SENDER_KINDS: CaseKind[] = ["null-sender", "spoofed-own-sender", "sender-ip-literal", "unqualified-sender", "other-sender"];

/** Plain-language names and explanations of what each kind of case tries. */
export const KIND_TEXT: Record<CaseKind, { title: string; explain: string }> = {
  plain: { title: "plain relay", explain: "an ordinary address at a domain the server does not host" },
  "percent-hack": {
    title: "percent hack",
    explain:
      "an old routing form, user%other-domain@your-server, which asks your server to pass the mail on to other-domain",
  },
  "bang-path": { title: "bang path", explain: "the old UUCP routing form other-domain!user, which asks your server to pass the mail on" },
  "source-route": {
    title: "source route",
    explain: "the obsolete RFC 821 form @your-server:user@other-domain; servers drop the route and deliver to the final address, outside",
  },
  "quoted-local-part": {
    title: "quoted local part",
    explain: "an address hidden in quotes, \"user@other-domain\"@your-server, which some servers unquote and then deliver outside",
  },
  "double-at": { title: "double @", explain: "an address with two @ signs, user@other-domain@your-server" },
  "trailing-at": { title: "trailing @", explain: "an address ending in @, which some servers complete in unexpected ways" },
  "ip-literal-recipient": { title: "IP-literal recipient", explain: "a recipient at an IP address in brackets instead of a domain" },
  "null-sender": {
    title: "empty sender",
    explain: "an empty sender address (MAIL FROM:<>), the kind bounce messages use, which some servers trust",
  },
  "spoofed-own-sender": {
    title: "forged sender from your own domain",
    explain: "a sender address at your own domain, which anyone can forge; servers that relay for \"their own\" senders fall for it",
  },
  "sender-ip-literal": { title: "IP-literal sender", explain: "a sender at an IP address in brackets" },
  "unqualified-sender": { title: "sender without a domain", explain: "a sender address with no domain at all" },
  "other-sender": { title: "unusual sender", explain: "an unusual sender address" },
};

/** The server's own domains: the baseline's, its names, the catch-all scopes (lower case). */
export function ownDomainsOf(server: ServerReport): string[] {
  const names = [server.baseline.ownDomain, server.host, server.ehloName, ...Object.keys(server.baseline.catchAll)];
  return [...new Set(names.filter((n): n is string => !!n).map((n) => n.toLowerCase()))];
}
