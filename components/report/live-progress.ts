/**
 * Progress of a running check, for the live view: which cases the engine will run on a server
 * (from the engine's own case catalogue, lib/probe/cases.ts), so the view can say "12 of 25" and
 * keep the rows in the order of the finished report instead of the order they completed in.
 */
import { baselineCases, recipientCases, scopesOf, senderCases, type CaseContext } from "@/lib/probe/cases";
import type { CaseResult, NormalizedTarget } from "@/lib/probe/types";

/** Stands in for the server's own name before its greeting is known (IP targets). */
const UNKNOWN_NAME = "server.name.invalid";

/**
 * The ids of the cases the engine plans for one server, in its order (baseline, senders,
 * recipient tricks). The local parts and domains of the addresses do not change the ids or their
 * number; for an IP target the server's own name is only known from its greeting, so the plan
 * assumes it gives one (the count then matches the engine's).
 */
export function plannedCaseIds(target: Pick<NormalizedTarget, "kind" | "name">, server: { host: string; ip: string }): string[] {
  const ctx: CaseContext = {
    senderLocalPart: "relaycheck",
    senderDomain: "relaycheck.invalid",
    recipientLocalPart: "relaytest",
    recipientDomain: "relay-target.invalid",
    serverName: target.kind === "domain" ? server.host : UNKNOWN_NAME,
    ip: server.ip,
    targetDomain: target.kind === "domain" ? target.name : null,
  };
  const sender = `${ctx.senderLocalPart}@${ctx.senderDomain}`;
  const recipient = recipientCases(ctx, sender);
  const ownDomain = target.kind === "domain" ? target.name : ctx.serverName;
  const baseline = baselineCases(ctx, sender, ownDomain, scopesOf(recipient), "token");
  return [...baseline, ...senderCases(ctx), ...recipient].map((c) => c.id);
}

/** The cases in the plan's order; any the plan did not foresee follow in the order they came. */
export function inPlanOrder(cases: CaseResult[], plan: string[]): CaseResult[] {
  const rank = new Map(plan.map((id, i) => [id, i]));
  return cases
    .map((c, i) => ({ c, key: rank.get(c.id) ?? plan.length + i }))
    .sort((a, b) => a.key - b.key)
    .map(({ c }) => c);
}

/** "0:07", "2:05", "1:02:03": elapsed time on a clock face. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
