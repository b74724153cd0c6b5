/**
 * The pure parts of a proof by delivery (issue 12), shared by the worker's proof step and the
 * CLI: which accepted case a proof uses, how its recipient is rebuilt around the token, and how
 * a token is read back from the recipient the sink sees. No database, no network.
 */
import { randomBytes } from "node:crypto";
import type { CaseResult, ServerReport } from "../probe/types";

/** 32 lower-case hex digits: survives MTAs that fold the case of local parts. */
export const TOKEN_PATTERN = /^[0-9a-f]{32}$/;

export const newToken = (): string => randomBytes(16).toString("hex");

/** The case whose accepted form the proof uses: a relay case accepted at RCPT, evidence first. */
export function acceptedCase(server: ServerReport): CaseResult | null {
  const accepted = server.cases.filter((c) => c.group !== "baseline" && c.outcome === "accepted" && c.stage === "rcpt");
  // After evidence, a form at the server's name: an IP literal of an address the MTA does not
  // count as its own would send the message back to itself.
  return accepted.find((c) => c.evidence) ?? accepted.find((c) => !c.localScope?.startsWith("[")) ?? accepted[0] ?? null;
}

/**
 * The case's recipient with its outside address replaced by the token's address at the sink
 * domain, in the same form (plain, percent hack, bang path, quoted…); null when the form cannot
 * be rebuilt that way.
 */
export function proofRecipient(rcptTo: string, o: { localPart: string; outsideDomain: string; token: string; sinkDomain: string }): string | null {
  const { localPart: to, outsideDomain: rd, token, sinkDomain: sink } = o;
  const next = rcptTo.split(`${to}%${rd}`).join(`${token}%${sink}`).split(`${to}@${rd}`).join(`${token}@${sink}`).split(`${rd}!${to}`).join(`${sink}!${token}`);
  if (next === rcptTo || next.includes(rd) || !next.includes(token) || !next.includes(sink)) return null;
  return next;
}

/**
 * The token in a recipient address at the sink domain, in the forms a relay hands on: the plain
 * `<token>@<sink>`, a percent hack left as it was (`<token>%<sink>@…`), a bang path
 * (`<sink>!<token>`), quoted or not. Null for anything else.
 */
export function tokenOfRecipient(address: string, sinkDomain: string): string | null {
  const a = address.toLowerCase().replace(/"/g, "");
  const d = sinkDomain.toLowerCase().replace(/[.]/g, "\\.");
  const forms = [new RegExp(`^([0-9a-f]{32})@${d}$`), new RegExp(`^([0-9a-f]{32})%${d}@[^@%!]+$`), new RegExp(`^${d}!([0-9a-f]{32})(@[^@%!]+)?$`)];
  for (const re of forms) {
    const m = re.exec(a);
    if (m) return m[1]!;
  }
  return null;
}
