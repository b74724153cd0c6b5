/**
 * What changed between two checks of the same target: the verdict, servers that appeared or
 * disappeared, relay cases whose outcome changed, and the banner and TLS facts of each server.
 * Pure: it takes two check views and returns a CheckDiff (the API's `GET /checks/{id}/diff`, the
 * report page's "what changed" section, and the body of a monitor's alert).
 *
 * What counts as a change worth an alert (`changed`): another verdict, a server added or removed,
 * or a case that flipped — accepted before and not now, or the reverse, or its relay evidence
 * changed. Other outcome changes (rejected ↔ temporary failure), banners and TLS are listed but do
 * not count: a banner with a date in it, or a renewed certificate, would alert every time.
 *
 * Servers are matched by address and port (the engine's server key), cases by server and id;
 * a case that only one check has (another engine version) is not compared.
 */
import { z } from "zod";
import { CASE_OUTCOMES, type CaseResult, type ServerReport, type TlsInfo, type Verdict } from "@/lib/probe/types";
import { checkStatusSchema, verdictSchema as verdict } from "./report-schema";
import type { CheckView } from "./types";

const isoTime = () => z.string().meta({ format: "date-time" });

export const checkDiffSideSchema = z.object({
  id: z.string(),
  status: checkStatusSchema,
  createdAt: isoTime(),
  finishedAt: isoTime().nullable(),
  verdict: verdict.nullable(),
  url: z.string().meta({ description: "The report's permalink path." }),
});

const serverRefSchema = z.object({
  server: z.string().meta({ description: "The server's key: `ip:port` (IPv6 in brackets)." }),
  host: z.string(),
  verdict: verdict,
});

const tlsSummarySchema = z.object({
  protocol: z.string().nullable(),
  subject: z.string().nullable(),
  issuer: z.string().nullable(),
  validTo: z.string().nullable(),
  error: z.string().nullable(),
});

export const checkDiffSchema = z.object({
  target: z.string(),
  from: checkDiffSideSchema.meta({ description: "The earlier check." }),
  to: checkDiffSideSchema.meta({ description: "The later check." }),
  changed: z.boolean().meta({ description: "Whether anything alert-worthy changed: the verdict, the servers, or a case that flipped." }),
  verdict: z.object({ from: verdict.nullable(), to: verdict.nullable() }).nullable().meta({ description: "Null when the verdict is the same." }),
  serversAdded: z.array(serverRefSchema),
  serversRemoved: z.array(serverRefSchema),
  serverVerdicts: z.array(z.object({ server: z.string(), host: z.string(), from: verdict, to: verdict })),
  cases: z.array(
    z.object({
      server: z.string(),
      host: z.string(),
      caseId: z.string(),
      title: z.string(),
      from: z.enum(CASE_OUTCOMES),
      to: z.enum(CASE_OUTCOMES),
      evidenceFrom: z.boolean(),
      evidenceTo: z.boolean(),
      flipped: z.boolean().meta({ description: "Accepted on one side only, or the relay evidence changed." }),
    }),
  ),
  banners: z.array(z.object({ server: z.string(), host: z.string(), from: z.string().nullable(), to: z.string().nullable() })),
  tls: z.array(z.object({ server: z.string(), host: z.string(), from: tlsSummarySchema.nullable(), to: tlsSummarySchema.nullable() })),
  summary: z.array(z.string()).meta({ description: "The changes as sentences for people, most important first." }),
});

export type CheckDiff = z.infer<typeof checkDiffSchema>;
export type CheckDiffSide = z.infer<typeof checkDiffSideSchema>;
type TlsSummary = z.infer<typeof tlsSummarySchema>;

const VERDICT_WORDS: Record<Verdict, string> = {
  "open-relay": "open relay",
  "not-open-relay": "not an open relay",
  inconclusive: "inconclusive",
  unreachable: "unreachable",
};

export const verdictWords = (v: Verdict | null): string => (v ? VERDICT_WORDS[v] : "no verdict");

export function diffSideOf(view: Pick<CheckView, "id" | "status" | "createdAt" | "finishedAt" | "verdict" | "url">): CheckDiffSide {
  return { id: view.id, status: view.status, createdAt: view.createdAt, finishedAt: view.finishedAt, verdict: view.verdict, url: view.url };
}

const serverKey = (s: Pick<ServerReport, "ip" | "port">) => (s.ip.includes(":") ? `[${s.ip}]:${s.port}` : `${s.ip}:${s.port}`);

function tlsSummary(tls: TlsInfo | null): TlsSummary | null {
  if (!tls) return null;
  return { protocol: tls.protocol, subject: tls.subject, issuer: tls.issuer, validTo: tls.validTo, error: tls.error ?? null };
}

const sameTls = (a: TlsSummary | null, b: TlsSummary | null) => JSON.stringify(a) === JSON.stringify(b);

function isFlip(a: CaseResult, b: CaseResult): boolean {
  return (a.outcome === "accepted") !== (b.outcome === "accepted") || a.evidence !== b.evidence;
}

/** The changes from `from` (earlier) to `to` (later). Both should be checks of the same target. */
export function diffChecks(from: CheckView, to: CheckView): CheckDiff {
  const before = new Map(from.servers.map((s) => [serverKey(s), s]));
  const after = new Map(to.servers.map((s) => [serverKey(s), s]));
  const ref = (s: ServerReport) => ({ server: serverKey(s), host: s.host, verdict: s.verdict });

  const serversAdded = to.servers.filter((s) => !before.has(serverKey(s))).map(ref);
  const serversRemoved = from.servers.filter((s) => !after.has(serverKey(s))).map(ref);
  const diff: CheckDiff = {
    target: to.target.name,
    from: diffSideOf(from),
    to: diffSideOf(to),
    changed: false,
    verdict: from.verdict === to.verdict ? null : { from: from.verdict, to: to.verdict },
    serversAdded,
    serversRemoved,
    serverVerdicts: [],
    cases: [],
    banners: [],
    tls: [],
    summary: [],
  };

  for (const b of to.servers) {
    const key = serverKey(b);
    const a = before.get(key);
    if (!a) continue;
    if (a.verdict !== b.verdict) diff.serverVerdicts.push({ server: key, host: b.host, from: a.verdict, to: b.verdict });
    const earlier = new Map(a.cases.map((c) => [c.id, c]));
    for (const cb of b.cases) {
      const ca = earlier.get(cb.id);
      if (!ca || (ca.outcome === cb.outcome && ca.evidence === cb.evidence)) continue;
      diff.cases.push({
        server: key,
        host: b.host,
        caseId: cb.id,
        title: cb.title,
        from: ca.outcome,
        to: cb.outcome,
        evidenceFrom: ca.evidence,
        evidenceTo: cb.evidence,
        flipped: isFlip(ca, cb),
      });
    }
    if (a.banner !== b.banner) diff.banners.push({ server: key, host: b.host, from: a.banner, to: b.banner });
    const [ta, tb] = [tlsSummary(a.tls), tlsSummary(b.tls)];
    if (!sameTls(ta, tb)) diff.tls.push({ server: key, host: b.host, from: ta, to: tb });
  }

  diff.changed = diff.verdict !== null || serversAdded.length > 0 || serversRemoved.length > 0 || diff.cases.some((c) => c.flipped);
  diff.summary = summarize(diff);
  return diff;
}

/** The diff as sentences, most important first. Server words (banners) are not repeated here. */
function summarize(d: CheckDiff): string[] {
  const lines: string[] = [];
  if (d.verdict) lines.push(`Verdict: ${verdictWords(d.verdict.from)} → ${verdictWords(d.verdict.to)}.`);
  for (const s of d.serversAdded) lines.push(`New server: ${s.host} (${s.server}), ${verdictWords(s.verdict)}.`);
  for (const s of d.serversRemoved) lines.push(`Server gone: ${s.host} (${s.server}).`);
  for (const s of d.serverVerdicts) lines.push(`${s.host} (${s.server}): ${verdictWords(s.from)} → ${verdictWords(s.to)}.`);
  for (const c of d.cases.filter((x) => x.flipped)) lines.push(`${c.title} on ${c.host}: ${c.from} → ${c.to}.`);
  for (const c of d.cases.filter((x) => !x.flipped)) lines.push(`${c.title} on ${c.host}: ${c.from} → ${c.to} (not a relay change).`);
  for (const b of d.banners) lines.push(`${b.host} (${b.server}) greets differently.`);
  for (const t of d.tls) lines.push(`${t.host} (${t.server}): TLS changed (${tlsWords(t.from)} → ${tlsWords(t.to)}).`);
  if (lines.length === 0) lines.push("Nothing changed.");
  return lines;
}

function tlsWords(t: TlsSummary | null): string {
  if (!t) return "no TLS";
  if (t.error) return "TLS failed";
  return [t.protocol ?? "TLS", t.validTo ? `certificate valid to ${t.validTo}` : null].filter(Boolean).join(", ");
}
