/**
 * The report and the check view as zod schemas: what the service reads back from PostgreSQL is
 * parsed with them (lib/checks/parse-stored.ts), and the OpenAPI document's component schemas
 * are generated from them (app/api/_lib/openapi-document.ts), so neither hand-copies a field or
 * an enum. The closed sets come from the `as const` arrays beside the TypeScript types.
 *
 * The TypeScript interfaces (lib/probe/types.ts, ./types.ts) stay the engine's own, zod-free
 * definitions; `SameType` checks at the bottom make tsc fail when a field is added to one side
 * and not the other.
 *
 * Schemas made with `named` are listed in `namedSchemas`: the document makes each a component
 * (`#/components/schemas/<name>`) and refers to it by `$ref` wherever it is used.
 */
import { z } from "zod";
import { CONFIDENCES, SOFTWARE_NAMES } from "@/lib/advice/types";
import {
  CASE_GROUPS,
  CASE_OUTCOMES,
  CASE_STAGES,
  CONNECTION_STATUSES,
  FINDING_IDS,
  SEVERITIES,
  TARGET_KINDS,
  TLS_MODES,
  TRANSCRIPT_DIRECTIONS,
  VERDICTS,
  PROOF_STATUSES,
  type CaseResult,
  type DeliveryProof,
  type CheckReport,
  type Finding,
  type NormalizedTarget,
  type ProbeEvent,
  type ResolutionInfo,
  type ServerReport,
  type SmtpReply,
  type TlsInfo,
  type TranscriptLine,
} from "@/lib/probe/types";
import { CHECK_FAILURE_CODES, CHECK_STATUSES, WAIT_REASONS, type CheckFailure, type CheckHistoryItem, type CheckLinks, type CheckStreamEvent, type CheckView, type CheckWait, type PendingServer } from "./types";

/** The schemas that have a name of their own in the OpenAPI document, in order of definition. */
export const namedSchemas = new Map<string, z.ZodType>();

/** A schema with a description but no component of its own (the API answers an extension of it). */
function described<T extends z.ZodType>(schema: T, description: string): T {
  return schema.meta({ description });
}

function named<T extends z.ZodType>(name: string, schema: T, description?: string): T {
  if (namedSchemas.has(name)) throw new Error(`two schemas named ${name}`);
  const described = description ? schema.meta({ description }) : schema;
  namedSchemas.set(name, described);
  return described;
}

const int = () => z.int();
const strings = () => z.array(z.string());

// ---------------------------------------------------------------------------------------------
// Closed sets

export const verdictSchema = named("Verdict", z.enum(VERDICTS), "What the result means for the administrator.");
export const connectionStatusSchema = named("ConnectionStatus", z.enum(CONNECTION_STATUSES), "What happened to a session on the wire.");
export const checkStatusSchema = named("CheckStatus", z.enum(CHECK_STATUSES));
export const targetKindSchema = z.enum(TARGET_KINDS);

// ---------------------------------------------------------------------------------------------
// The engine's report (the CLI's --json)

export const normalizedTargetSchema = named(
  "NormalizedTarget",
  z.object({
    input: z.string(),
    kind: targetKindSchema,
    name: z.string(),
    unicode: z.string().optional(),
    stripped: z.string().optional(),
  }),
);

const replyBriefSchema = z.object({ code: int(), enhanced: z.string().nullable(), text: z.string() });

export const smtpReplySchema = z.object({ code: int(), enhanced: z.string().nullable(), text: z.string(), lines: strings() });

export const caseAttemptSchema = named(
  "CaseAttempt",
  z.object({
    round: int().min(0).meta({ description: "0: the check's first probe; 1, 2…: the automatic re-check rounds." }),
    at: z.string().meta({ format: "date-time" }).meta({ description: "When the probe of that round started." }),
    mailFrom: z.string(),
    outcome: z.enum(CASE_OUTCOMES),
    stage: z.enum(CASE_STAGES).nullable(),
    reply: replyBriefSchema.nullable(),
    session: int().nullable(),
    note: z.string().nullable(),
  }),
  "An earlier try of a case that was re-checked later (greylisting): when, with what, and what it got.",
);

export const caseResultSchema = named(
  "CaseResult",
  z.object({
    id: z.string(),
    title: z.string(),
    group: z.enum(CASE_GROUPS),
    mailFrom: z.string(),
    rcptTo: z.string(),
    localScope: z.string().nullable(),
    nmap: int().optional(),
    outcome: z.enum(CASE_OUTCOMES),
    stage: z.enum(CASE_STAGES).nullable(),
    reply: replyBriefSchema.nullable(),
    mailReply: replyBriefSchema.nullable(),
    evidence: z.boolean(),
    note: z.string().nullable(),
    session: int().nullable(),
    tls: z.boolean(),
    durationMs: z.number().nullable(),
    attempts: int(),
    notRun: z.enum(["sender-tempfail", "connection-limit"]).optional(),
    recheck: z
      .object({ round: int().min(1), at: z.string().meta({ format: "date-time" }) })
      .optional()
      .meta({ description: "The automatic re-check round that got this result, and when it started; absent for the first probe's." }),
    earlier: z.array(caseAttemptSchema).optional().meta({ description: "The earlier tries of a re-checked case, oldest first." }),
  }),
);

export const transcriptLineSchema = named(
  "TranscriptLine",
  z.object({ session: int(), t: z.number(), dir: z.enum(TRANSCRIPT_DIRECTIONS), line: z.string() }),
);

const blocklistEntrySchema = z.object({ list: z.string(), zone: z.string() });

export const blocklistLookupSchema = named(
  "BlocklistLookup",
  z.object({
    subject: z.string(),
    kind: z.enum(["ip", "domain"]),
    listed: z.array(blocklistEntrySchema.extend({ codes: strings(), meanings: strings(), delistUrl: z.string().nullable() })),
    notListed: z.array(blocklistEntrySchema),
    couldNotQuery: z.array(
      blocklistEntrySchema.extend({
        problem: z.enum(["error-code", "unexpected-answer", "dns-error", "timeout", "budget", "cancelled"]),
        reason: z.string(),
        codes: strings(),
      }),
    ),
    checkedAt: z.string(),
    cached: z.boolean(),
    durationMs: z.number(),
  }),
  "The DNS blocklists' answers about one address or domain name; lists that gave no usable answer are in couldNotQuery, never counted as not listed.",
);

export const serverBlocklistsSchema = named(
  "ServerBlocklists",
  blocklistLookupSchema.extend({ domains: z.array(blocklistLookupSchema) }),
  "A server's blocklist status: its address, plus its host name and the checked domain on domain lists.",
);

export const serverNameFactsSchema = named(
  "ServerNameFacts",
  z.object({ heloName: z.string().nullable(), heloResolves: z.boolean().nullable(), fcrdns: strings(), heloMatchesPtr: z.boolean().nullable() }),
  "HELO/EHLO name vs PTR vs forward lookups (FCrDNS).",
);

export const tlsInfoSchema = named(
  "TlsInfo",
  z.object({
    mode: z.enum(TLS_MODES),
    protocol: z.string().nullable(),
    cipher: z.string().nullable(),
    subject: z.string().nullable(),
    issuer: z.string().nullable(),
    subjectAltNames: strings(),
    validFrom: z.string().nullable(),
    validTo: z.string().nullable(),
    expired: z.boolean().nullable(),
    daysLeft: z.number().nullable().optional(),
    selfSigned: z.boolean().nullable(),
    hostnameMatch: z.boolean().nullable(),
    authorized: z.boolean(),
    authorizationError: z.string().nullable(),
    handshakeMs: z.number(),
    error: z.string().optional(),
  }),
);

export const findingSchema = named("Finding", z.object({ id: z.enum(FINDING_IDS), severity: z.enum(SEVERITIES), message: z.string() }));

const sessionSummarySchema = z.object({
  id: int(),
  status: connectionStatusSchema,
  tls: z.boolean(),
  startedMs: z.number(),
  endedMs: z.number(),
  caseIds: strings(),
  detail: z.string().nullable(),
});

export const deliveryProofSchema = named(
  "DeliveryProof",
  z.object({
    status: z.enum(PROOF_STATUSES),
    caseId: z.string().nullable(),
    mailFrom: z.string(),
    rcptTo: z.string(),
    sentAt: z.string().nullable(),
    reply: z.object({ code: int(), enhanced: z.string().nullable(), text: z.string() }).nullable(),
    waitMs: z.number(),
    waitUntil: z.string().nullable(),
    arrival: z
      .object({
        at: z.string(),
        remoteAddress: z.string(),
        heloName: z.string().nullable(),
        mailFrom: z.string(),
        rcptTo: z.string(),
        received: strings(),
      })
      .nullable(),
    delayMs: z.number().nullable(),
    detail: z.string(),
    transcript: z.array(transcriptLineSchema),
  }),
  "The one message a proof by delivery sent through the server (only when the check asked for it), and whether it reached relaycheck's sink.",
);

/** A server's report as stored in `check_servers.report`: its cases and transcript are kept apart. */
export const storedServerReportSchema = z.object({
  host: z.string(),
  ip: z.string(),
  family: z.literal([4, 6]),
  port: int(),
  mxPreference: int().nullable(),
  ptr: strings(),
  ptrMatches: z.boolean().nullable(),
  names: serverNameFactsSchema.optional(),
  dnsbl: serverBlocklistsSchema.optional(),
  status: connectionStatusSchema,
  statusDetail: z.string().nullable(),
  verdict: verdictSchema,
  reason: z.string(),
  banner: z.string().nullable(),
  greetingCode: int().nullable(),
  ehloName: z.string().nullable(),
  usedHelo: z.boolean(),
  extensions: strings(),
  pipelining: z.boolean(),
  size: z.number().nullable(),
  auth: z.object({ mechanisms: strings(), offeredBeforeTls: z.boolean() }),
  starttls: z.object({ offered: z.boolean(), required: z.boolean() }),
  tls: tlsInfoSchema.nullable(),
  baseline: z.object({
    sender: z.string().nullable(),
    senderAccepted: z.boolean(),
    ownDomain: z.string().nullable(),
    catchAll: z.record(z.string(), z.boolean().nullable()),
  }),
  findings: z.array(findingSchema),
  timings: z.object({
    connectMs: z.number().nullable(),
    greetingMs: z.number().nullable(),
    ehloMs: z.number().nullable(),
    tlsMs: z.number().nullable(),
    totalMs: z.number(),
  }),
  sessions: z.array(sessionSummarySchema),
  transcriptTruncated: z.boolean(),
  rateLimit: z
    .object({ allowed: int(), periodMs: z.number().nullable(), waitedMs: z.number(), casesNotRun: int() })
    .optional()
    .describe("Set when the server refused new connections with 421 and the probe had to pace itself."),
  proof: deliveryProofSchema.optional(),
});

export const serverReportSchema = named(
  "ServerReport",
  storedServerReportSchema.extend({ cases: z.array(caseResultSchema), transcript: z.array(transcriptLineSchema) }),
);

export const resolutionInfoSchema = named(
  "ResolutionInfo",
  z.object({
    mx: z.array(z.object({ exchange: z.string(), preference: int() })),
    implicitMx: z.boolean(),
    nullMx: z.boolean(),
    hosts: z.array(z.object({ host: z.string(), addresses: strings(), error: z.string().nullable() })),
    refused: z.array(z.object({ host: z.string(), ip: z.string(), port: int(), reason: z.string() })),
    errors: strings(),
    durationMs: z.number(),
  }),
);

export const reportOptionsSchema = named(
  "ReportOptions",
  z.object({ ports: z.array(int()), ehloName: z.string(), senderDomain: z.string(), recipientDomain: z.string() }),
);

export const checkReportSchema = named(
  "CheckReport",
  z.object({
    schemaVersion: int(),
    target: normalizedTargetSchema,
    options: reportOptionsSchema,
    startedAt: z.string(),
    finishedAt: z.string(),
    durationMs: z.number(),
    verdict: verdictSchema,
    reason: z.string(),
    resolution: resolutionInfoSchema,
    servers: z.array(serverReportSchema),
  }),
  "The whole report of a finished check: the same schema as the CLI's --json.",
);

// ---------------------------------------------------------------------------------------------
// The service's view of a check

export const checkFailureSchema = named(
  "CheckFailure",
  z.object({ code: z.enum(CHECK_FAILURE_CODES), message: z.string() }),
  "Why a check failed: the service's fault, never the target's (a failing target is a verdict).",
);

export const checkLinksSchema = named("CheckLinks", z.object({ self: z.string(), events: z.string(), html: z.string(), history: z.string() }));

export const pendingServerSchema = named(
  "PendingServer",
  z.object({ key: z.string(), host: z.string(), ip: z.string(), port: int(), cases: z.array(caseResultSchema) }),
);

const checkIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/).meta({ description: "128 random bits, base64url." });
/** Written by `Date.toISOString()`, never parsed from outside: a format for the document's readers. */
const isoTime = () => z.string().meta({ format: "date-time" });

export const waitReasonSchema = named("WaitReason", z.enum(WAIT_REASONS));

export const checkWaitSchema = named(
  "CheckWait",
  z.object({
    reason: waitReasonSchema,
    until: isoTime().meta({ description: "When the follow-up is due (the re-check runs, the delivery wait ends)." }),
    round: int().min(1),
    servers: strings().meta({ description: "Keys (ip:port) of the servers concerned." }),
    message: z.string(),
  }),
  "Why a check is waiting (status `waiting`: it has a report, but its verdict may still change) and until when.",
);

/** A check as the service holds it; the API answers it with the advice added (AdvisedCheckView). */
export const checkViewSchema = described(
  z.object({
    id: checkIdSchema,
    status: checkStatusSchema,
    createdAt: isoTime(),
    startedAt: isoTime().nullable(),
    finishedAt: isoTime().nullable(),
    queuePosition: int().min(1).nullable().meta({ description: "1-based place in the queue while queued." }),
    error: checkFailureSchema.nullable(),
    url: z.string(),
    links: checkLinksSchema,
    reused: z.boolean().optional(),
    waiting: checkWaitSchema.nullable(),
    schemaVersion: int(),
    target: normalizedTargetSchema,
    options: reportOptionsSchema.nullable(),
    verdict: verdictSchema.nullable(),
    reason: z.string().nullable(),
    durationMs: z.number().nullable(),
    resolution: resolutionInfoSchema.nullable(),
    servers: z.array(serverReportSchema),
    pending: z.array(pendingServerSchema).optional(),
  }),
  "A check: its state, and its report as far as it is known (the CLI's --json fields).",
);

const adviceFixSchema = named(
  "AdviceFix",
  z.object({ software: z.string(), steps: strings(), docs: z.string().optional() }),
  "How to fix it on the detected software: ordered steps, setting names and commands exact.",
);

const adviceItemSchema = named(
  "AdviceItem",
  z.object({
    id: z.string().meta({ description: "Stable kebab-case id, e.g. open-relay, relay-address-tricks, auth-before-tls." }),
    severity: z.enum(SEVERITIES),
    title: z.string(),
    detail: z.string(),
    fix: adviceFixSchema.optional(),
    caseIds: strings().optional(),
  }),
);

const machineAdviceSchema = named(
  "Advice",
  z.object({
    software: z
      .object({ name: z.enum(SOFTWARE_NAMES), displayName: z.string(), confidence: z.enum(CONFIDENCES), evidence: strings() })
      .nullable(),
    items: z.array(adviceItemSchema),
  }),
  "What the server appears to run and what to do, most severe first.",
);

/** What the API answers for a check: the view with each server's advice and summary, and the check's summary. */
export const advisedCheckViewSchema = named(
  "AdvisedCheckView",
  checkViewSchema.extend({
    servers: z.array(serverReportSchema.extend({ advice: machineAdviceSchema, summary: z.string() })),
    summary: z.string().nullable().meta({ description: "The verdict in words; null until there is one." }),
  }),
  "A check as the API answers it: CheckView plus each server's advice and summary, and the check's summary.",
);

export const checkHistoryItemSchema = named(
  "CheckHistoryItem",
  z.object({ id: checkIdSchema, status: checkStatusSchema, createdAt: isoTime(), finishedAt: isoTime().nullable(), verdict: verdictSchema.nullable(), url: z.string() }),
);

// ---------------------------------------------------------------------------------------------
// Events (the SSE stream's `data:`)

const serverKey = z.string();

export const probeEventSchemas = {
  resolved: z.object({
    type: z.literal("resolved"),
    t: z.number(),
    resolution: resolutionInfoSchema,
    servers: z.array(z.object({ key: serverKey, host: z.string(), ip: z.string(), port: int() })),
  }),
  connected: z.object({ type: z.literal("connected"), t: z.number(), server: serverKey, session: int(), tls: z.boolean() }),
  reply: z.object({
    type: z.literal("reply"),
    t: z.number(),
    server: serverKey,
    session: int(),
    command: z.string().nullable().meta({ description: "The command this reply answers (null for the greeting)." }),
    reply: smtpReplySchema,
  }),
  "case-result": z.object({ type: z.literal("case-result"), t: z.number(), server: serverKey, result: caseResultSchema }),
  "server-done": z.object({ type: z.literal("server-done"), t: z.number(), server: serverKey, report: serverReportSchema }),
  done: z.object({ type: z.literal("done"), t: z.number(), report: checkReportSchema }),
};

const serviceEventSchemas = {
  status: z.object({ type: z.literal("status"), t: z.number(), status: checkStatusSchema }),
  failed: z.object({ type: z.literal("failed"), t: z.number(), error: checkFailureSchema }),
  attempt: z.object({ type: z.literal("attempt"), t: z.number(), attempt: z.number().int().min(1), reason: z.string() }),
  waiting: z.object({ type: z.literal("waiting"), t: z.number(), wait: checkWaitSchema, report: checkReportSchema }),
  resumed: z.object({ type: z.literal("resumed"), t: z.number(), reason: waitReasonSchema, round: int().min(1) }),
  delivery: z.object({ type: z.literal("delivery"), t: z.number(), server: z.string(), report: serverReportSchema }),
};

export const checkStreamEventSchema = named(
  "CheckStreamEvent",
  z.discriminatedUnion("type", [
    serviceEventSchemas.status,
    serviceEventSchemas.failed,
    serviceEventSchemas.attempt,
    serviceEventSchemas.waiting,
    serviceEventSchemas.resumed,
    serviceEventSchemas.delivery,
    probeEventSchemas.resolved,
    probeEventSchemas.connected,
    probeEventSchemas.reply,
    probeEventSchemas["case-result"],
    probeEventSchemas["server-done"],
    probeEventSchemas.done,
  ]),
  "The `data:` of one Server-Sent Event; `event:` repeats `type`, `id:` is the event's number in the check; `t` is milliseconds since the check (or probe) started.",
);

/**
 * An event as `check_events.data` keeps it (lib/checks/stored-events.ts): `server-done` and
 * `done` without their reports, which the report rows hold (lib/checks/record-check-event.ts);
 * every other event whole, as its stream schema says (a `waiting` keeps its report: the rows
 * move on when the follow-up runs, and waits are rare).
 */
export const storedEventSchema = z.union([
  z.object({ type: z.literal("server-done"), t: z.number(), server: serverKey }),
  z.object({ type: z.literal("done"), t: z.number() }),
  checkStreamEventSchema.refine((e) => e.type !== "server-done" && e.type !== "done"),
]);
export type StoredEvent = z.infer<typeof storedEventSchema>;

// ---------------------------------------------------------------------------------------------
// The TypeScript types and the schemas describe the same values: tsc fails otherwise.

/** True when A and B are the same type (not merely assignable to each other). */
type SameType<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Check<T extends true> = T;

export type SchemaMatchesTypes = [
  Check<SameType<z.infer<typeof normalizedTargetSchema>, NormalizedTarget>>,
  Check<SameType<z.infer<typeof smtpReplySchema>, SmtpReply>>,
  Check<SameType<z.infer<typeof caseResultSchema>, CaseResult>>,
  Check<SameType<z.infer<typeof transcriptLineSchema>, TranscriptLine>>,
  Check<SameType<z.infer<typeof tlsInfoSchema>, TlsInfo>>,
  Check<SameType<z.infer<typeof findingSchema>, Finding>>,
  Check<SameType<z.infer<typeof serverReportSchema>, ServerReport>>,
  Check<SameType<z.infer<typeof resolutionInfoSchema>, ResolutionInfo>>,
  Check<SameType<z.infer<typeof checkReportSchema>, CheckReport>>,
  Check<SameType<z.infer<typeof checkFailureSchema>, CheckFailure>>,
  Check<SameType<z.infer<typeof checkLinksSchema>, CheckLinks>>,
  Check<SameType<z.infer<typeof pendingServerSchema>, PendingServer>>,
  Check<SameType<z.infer<typeof checkWaitSchema>, CheckWait>>,
  Check<SameType<z.infer<typeof deliveryProofSchema>, DeliveryProof>>,
  Check<SameType<z.infer<typeof checkViewSchema>, CheckView>>,
  Check<SameType<z.infer<typeof checkHistoryItemSchema>, CheckHistoryItem>>,
  Check<SameType<z.infer<typeof checkStreamEventSchema>, CheckStreamEvent>>,
  Check<SameType<z.infer<(typeof probeEventSchemas)[keyof typeof probeEventSchemas]>, ProbeEvent>>,
];
