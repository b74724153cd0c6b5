import type { CaseResult } from "@/lib/probe/types";
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
