/**
 * The probe engine's public types: what goes in (a target and options), what comes out (an
 * async stream of events and one final report). The JSON report is the schema the CLI's
 * `--json` prints and the API serves, so change it with care (bump REPORT_SCHEMA_VERSION).
 *
 * Two vocabularies are kept apart on purpose:
 * - statuses say what happened on the wire (`ConnectionStatus`, `CaseOutcome`);
 * - verdicts say what it means for the administrator (`Verdict`).
 *
 * Each closed set is an `as const` array with its union derived from it: the array is what the
 * service's schemas (lib/checks/report-schema.ts) and the OpenAPI document enumerate.
 */

export const REPORT_SCHEMA_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Input

export const TARGET_KINDS = ["domain", "ipv4", "ipv6"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** A validated target: only these values ever reach DNS or an SMTP command line. */
export interface NormalizedTarget {
  /** What the person typed, trimmed (kept for display only; never sent anywhere). */
  input: string;
  kind: TargetKind;
  /** ASCII host name (IDN converted to punycode, lower case, no trailing dot) or the canonical IP. */
  name: string;
  /** The Unicode form of an IDN, when it differs from `name`. */
  unicode?: string;
  /** A scheme or `mailto:` prefix that was stripped from the input, shown to the user. */
  stripped?: string;
}

/** What the target policy says of one address and port. */
export type AddressDecision = { allowed: true } | { allowed: false; reason: string };

/** Injected by the caller (CLI, worker): the engine has no policy of its own and fails closed. */
export type AddressPolicy = (ip: string, port: number) => AddressDecision;

export interface ProbeTimeouts {
  connectMs: number;
  /** Servers may delay the greeting on purpose (anti-spam "greet pause"). */
  greetingMs: number;
  /** Per command: from the write to the end of its reply. */
  commandMs: number;
  tlsHandshakeMs: number;
  /** The whole conversation with one server address, all sessions included. */
  serverTotalMs: number;
  dnsMs: number;
  /**
   * Pause before a case that got a temporary refusal (not a policy deferral) runs again, in a
   * later session: pre-queue filters (postscreen) pass a client on its next connection.
   */
  retryPauseMs?: number;
  /**
   * Longest total wait for a server that limits the rate of new connections (421 at connect),
   * within `serverTotalMs`.
   */
  rateLimitWaitMs?: number;
}

export interface ProbeLimits {
  /** Longest reply line kept; a longer line ends the session as a protocol error. */
  maxLineBytes: number;
  /** Most lines in one (multi-line) reply. */
  maxReplyLines: number;
  /** Most bytes in one reply. */
  maxReplyBytes: number;
  /** Transcript lines kept per server; the rest is counted, not stored. */
  maxTranscriptLines: number;
  /** Transcript bytes kept per server. */
  maxTranscriptBytes: number;
  /** MX hosts tested per domain. */
  maxMxHosts: number;
  /** Addresses tested in all. */
  maxAddresses: number;
  /** Cases run in one SMTP session before a fresh one (keeps clear of error limits). */
  maxCasesPerSession: number;
  /** SMTP sessions open at once to one server. */
  maxParallelSessions: number;
  /** Sessions opened per server at most, reconnects included. */
  maxSessionsPerServer: number;
}

export interface ProbeOptions {
  /** SMTP ports to test on each address: 25, 587 (STARTTLS) and/or 465 (implicit TLS). */
  ports: number[];
  /** Name sent in EHLO/HELO. */
  ehloName: string;
  /** Domain of the probe's own sender address (`MAIL FROM:<relaycheck@senderDomain>`). */
  senderDomain: string;
  /** Third-party domain the relay cases try to reach; never a domain a target could own. */
  recipientDomain: string;
  /** Local part used for the probe's addresses. */
  senderLocalPart: string;
  recipientLocalPart: string;
  /** "auto": STARTTLS when offered; "never": stay in plaintext unless the server demands TLS. */
  starttls: "auto" | "never";
  /** DNS servers ("ip" or "ip:port"); empty means the system's. Tests always set a local one. */
  dnsServers: string[];
  /** DNS blocklists asked about each server address and the checked names (default: the default set). */
  blocklists?: BlocklistSettings;
  addressPolicy: AddressPolicy;
  timeouts: ProbeTimeouts;
  limits: ProbeLimits;
  /** Cancels the whole check; sessions are closed and the report says so. */
  signal?: AbortSignal;
  /** Random source for the catch-all local part (tests may fix it). */
  randomToken?: () => string;
  /**
   * Called before the probe of each address and port; the probe starts when the promise resolves
   * and calls the returned function when it ends. A service uses it to cap the connections to
   * one server across all its workers (the engine itself never opens more than
   * `maxParallelSessions` to one server). It may refuse instead (`{ refused: why }`): the server
   * is then reported `rate-limited`, with that reason, and never connected to.
   */
  acquireServerSlot?: (ip: string, port: number) => Promise<(() => void | Promise<void>) | { refused: string }>;
}

// ---------------------------------------------------------------------------------------------
// The wire

export interface SmtpReply {
  code: number;
  /** Enhanced status code (RFC 3463) from the first line, e.g. "5.7.1", or null. */
  enhanced: string | null;
  /** The text of all lines joined with "\n", code and enhanced code stripped. */
  text: string;
  /** The raw lines as received (control characters made visible). */
  lines: string[];
}

export const TRANSCRIPT_DIRECTIONS = ["client", "server", "info"] as const;
export type TranscriptDirection = (typeof TRANSCRIPT_DIRECTIONS)[number];

export interface TranscriptLine {
  /** Session number within this server, from 1. */
  session: number;
  /** Milliseconds since this server's probe started. */
  t: number;
  dir: TranscriptDirection;
  line: string;
}

/** What happened to a session on the wire: a closed set. */
export const CONNECTION_STATUSES = [
  "ok", // the conversation ran and ended with QUIT
  "refused", // ECONNREFUSED
  "connect-timeout",
  "unreachable", // EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL
  "reset", // ECONNRESET / EPIPE mid-conversation
  "closed", // the server closed the connection without a 421
  "timeout", // a reply did not come within its time
  "greeting-rejected", // 554 (or other non-220) greeting
  "service-unavailable", // 421 at any stage
  "tls-failed", // handshake error or stall
  "protocol-error", // malformed reply, line or reply over the caps
  "policy-refused", // the target policy refused this address/port: never connected
  "rate-limited", // probed too often lately (the service's per-address limit): never connected
  "aborted", // the check was cancelled
] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const TLS_MODES = ["implicit", "starttls"] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export interface TlsInfo {
  /** "implicit" on port 465, else "starttls". */
  mode: TlsMode;
  protocol: string | null;
  cipher: string | null;
  subject: string | null;
  issuer: string | null;
  subjectAltNames: string[];
  validFrom: string | null;
  validTo: string | null;
  expired: boolean | null;
  selfSigned: boolean | null;
  /** Does the certificate name the host we connected to (MX host name), per RFC 6125 rules? */
  hostnameMatch: boolean | null;
  /** Chain verification against the system's CAs (not required to pass: reported). */
  authorized: boolean;
  authorizationError: string | null;
  handshakeMs: number;
  /** Set when the handshake failed; the probe then goes on in plaintext. */
  error?: string;
  /** Whole days until the certificate expires (negative once it has). */
  daysLeft?: number | null;
}

// ---------------------------------------------------------------------------------------------
// Cases

export const CASE_GROUPS = ["baseline", "sender", "recipient"] as const;
export type CaseGroup = (typeof CASE_GROUPS)[number];

export interface CaseDefinition {
  /** Stable kebab-case id, e.g. "percent-hack-ip-literal". */
  id: string;
  title: string;
  group: CaseGroup;
  /** Exact argument of MAIL FROM:<...> (without the brackets; "" is the null sender). */
  mailFrom: string;
  /** Exact argument of RCPT TO:<...> (without the brackets). */
  rcptTo: string;
  /**
   * The domain the recipient literally addresses (the part after the last "@"), when it is one of
   * the server's own: a catch-all there makes an accept ambiguous. Null when it is the
   * third-party domain.
   */
  localScope: string | null;
  /** For nmap parity: the nmap smtp-open-relay form this case corresponds to (1-16), if any. */
  nmap?: number;
}

/** What the server answered to one case: a closed set. */
export const CASE_OUTCOMES = ["accepted", "rejected", "tempfail", "error", "skipped"] as const;
export type CaseOutcome = (typeof CASE_OUTCOMES)[number];

/** The command whose reply decided a case. */
export const CASE_STAGES = ["mail", "rcpt"] as const;
export type CaseStage = (typeof CASE_STAGES)[number];

export interface CaseResult extends CaseDefinition {
  outcome: CaseOutcome;
  /** Where the outcome was decided. */
  stage: CaseStage | null;
  /** The reply that decided the outcome (the MAIL reply when MAIL was refused). */
  reply: Pick<SmtpReply, "code" | "enhanced" | "text"> | null;
  mailReply: Pick<SmtpReply, "code" | "enhanced" | "text"> | null;
  /**
   * Whether an `accepted` proves relaying. False when the recipient addresses a domain the server
   * accepts anything for (catch-all), or for baseline cases.
   */
  evidence: boolean;
  /** One sentence for people, e.g. why an error or why an accept is not evidence. */
  note: string | null;
  session: number | null;
  tls: boolean;
  durationMs: number | null;
  /** How many sessions tried the case (more than 1 after a drop). */
  attempts: number;
  /** Set when the case never reached the relay decision for a reason unrelated to relaying. */
  notRun?: CaseNotRun;
  /**
   * The automatic re-check round that got this result (1, 2…) and when that round started, when
   * the case ran again after a temporary refusal (greylisting); absent for the first probe's.
   */
  recheck?: { round: number; at: string };
  /** What the earlier tries of a re-checked case got, oldest first (absent: never re-checked). */
  earlier?: CaseAttempt[];
}

/** One earlier try of a case that was re-checked later: when, with what, and what it got. */
export interface CaseAttempt {
  /** 0: the check's first probe; 1, 2…: the re-check rounds. */
  round: number;
  /** ISO time the probe of that round started. */
  at: string;
  mailFrom: string;
  outcome: CaseOutcome;
  stage: CaseStage | null;
  reply: Pick<SmtpReply, "code" | "enhanced" | "text"> | null;
  /** The session of that round (numbered as in the server's `sessions`). */
  session: number | null;
  note: string | null;
}

/**
 * Why a case did not reach its relay decision; the verdict leaves it out or names the cause:
 * - "sender-tempfail": MAIL FROM got a 4xx (outcome "tempfail", stage "mail"), also on the retry;
 * - "connection-limit": the server's connection rate limit left no session for it within the
 *   wait budget (outcome "error").
 */
export type CaseNotRun = "sender-tempfail" | "connection-limit";

/** A server that limits new connections: what the probe learned of its pace. */
export interface ConnectionRateLimit {
  /** Connections the server accepted before it refused one with 421. */
  allowed: number;
  /** The time after which it accepted again (an upper bound of its period), or null if it never did. */
  periodMs: number | null;
  /** Time spent waiting for it. */
  waitedMs: number;
  /** Cases left without a session when the wait budget ran out. */
  casesNotRun: number;
}

// ---------------------------------------------------------------------------------------------
// Verdicts and reports

export const VERDICTS = ["open-relay", "not-open-relay", "inconclusive", "unreachable"] as const;
export type Verdict = (typeof VERDICTS)[number];

export const SEVERITIES = ["critical", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What else looks wrong on a server (findings.ts), from facts seen on the wire: a closed set. */
export const FINDING_IDS = [
  "auth-before-tls",
  "no-starttls",
  "tls-failed",
  "tls-old-protocol",
  "cert-expired",
  "cert-self-signed",
  "cert-hostname-mismatch",
  "helo-only",
  "ptr-missing",
  "ptr-mismatch",
  "cert-expires-soon",
  "helo-name-unresolved",
  "dnsbl-listed",
  "dnsbl-domain-listed",
] as const;
export type FindingId = (typeof FINDING_IDS)[number];

export interface Finding {
  id: FindingId;
  severity: Severity;
  message: string;
}

export interface SessionSummary {
  id: number;
  status: ConnectionStatus;
  tls: boolean;
  startedMs: number;
  endedMs: number;
  caseIds: string[];
  /** The reply or error that ended it early, for people. */
  detail: string | null;
}

export interface ServerTimings {
  connectMs: number | null;
  greetingMs: number | null;
  ehloMs: number | null;
  tlsMs: number | null;
  totalMs: number;
}

// ---------------------------------------------------------------------------------------------
// Facts beside the verdict: blocklists, names (issue 13)

/**
 * Which DNS blocklists to ask and how: zones are those of lib/probe/data/dnsbl-lists.json. The
 * queries go to `dnsServers`, like every other lookup of the check.
 */
export interface BlocklistSettings {
  /** Zones to ask, or "off" for none; default: the lists marked default in the data file. */
  zones?: string[] | "off";
  /** Longest wait for one answer. */
  queryTimeoutMs?: number;
  /** Longest time all the check's blocklist lookups may take, from their start. */
  budgetMs?: number;
  /** Answers kept between checks (the service keeps them in Redis); none: every check asks. */
  cache?: BlocklistCache;
}

/** Where a service keeps blocklist answers for a short time; failures count as a miss. */
export interface BlocklistCache {
  get(key: string): Promise<BlocklistLookup | null>;
  set(key: string, value: BlocklistLookup, ttlMs: number): Promise<void>;
}

/** One list that lists the subject, with what its answer means. */
export interface BlocklistListing {
  /** The list's name, e.g. "Spamhaus ZEN". */
  list: string;
  zone: string;
  /** The answers (A records), e.g. ["127.0.0.2", "127.0.0.10"]. */
  codes: string[];
  /** What each answer means, per the list's documentation. */
  meanings: string[];
  /** Where to ask for removal. */
  delistUrl: string | null;
}

/**
 * Why a list could not be asked: its answer was an error code (it refuses this resolver), an
 * answer it does not document, a DNS failure, no answer in time, or no time left.
 */
export type BlocklistProblem = "error-code" | "unexpected-answer" | "dns-error" | "timeout" | "budget" | "cancelled";

export interface BlocklistUnanswered {
  list: string;
  zone: string;
  problem: BlocklistProblem;
  /** For people, e.g. "Spamhaus refuses queries that come through public or shared DNS resolvers…". */
  reason: string;
  /** The answer, when the list answered with an error code or something unexpected. */
  codes: string[];
}

/** The blocklists' answers about one address or domain name. */
export interface BlocklistLookup {
  /** What was asked about: an IP address or a domain name. */
  subject: string;
  kind: "ip" | "domain";
  listed: BlocklistListing[];
  notListed: { list: string; zone: string }[];
  /** Lists that gave no usable answer: never counted as "not listed". */
  couldNotQuery: BlocklistUnanswered[];
  /** When the lists answered (an earlier check's time when the answers came from the cache). */
  checkedAt: string;
  cached: boolean;
  durationMs: number;
}

/** A server's blocklist status: its address, plus its host name and the checked domain. */
export interface ServerBlocklists extends BlocklistLookup {
  /** Domain lists (Spamhaus DBL, SURBL) on the server's host name and the checked domain. */
  domains: BlocklistLookup[];
}

/** Do the server's names agree: the name it gives in HELO/EHLO, its address's PTR, and their forward lookups. */
export interface ServerNameFacts {
  /** The host name the server gives in its EHLO (or HELO) reply or greeting; null when none. */
  heloName: string | null;
  /** Whether `heloName` resolves (A/AAAA) to the server's address; null: not looked up, or DNS failed. */
  heloResolves: boolean | null;
  /** PTR names of the address that resolve back to it (forward-confirmed reverse DNS, FCrDNS). */
  fcrdns: string[];
  /** Whether `heloName` is one of the forward-confirmed PTR names; null when either is missing. */
  heloMatchesPtr: boolean | null;
}

export interface ServerReport {
  /** MX host name (or the target itself for an IP or implicit MX). */
  host: string;
  ip: string;
  family: 4 | 6;
  port: number;
  mxPreference: number | null;
  /** PTR names of `ip`. */
  ptr: string[];
  /** Does a PTR name equal the greeting/EHLO name (or the MX host) and resolve back to `ip`? */
  ptrMatches: boolean | null;
  /** HELO name vs PTR vs forward lookups (FCrDNS). */
  names?: ServerNameFacts;
  /** DNS blocklist status of the address (absent when blocklists are off). */
  dnsbl?: ServerBlocklists;
  /** Status of the first session: could we talk SMTP at all? */
  status: ConnectionStatus;
  statusDetail: string | null;
  verdict: Verdict;
  reason: string;
  /** The full greeting text (all lines), or null if none came. */
  banner: string | null;
  greetingCode: number | null;
  /** The name the server gives in the first line of its EHLO (or HELO) reply. */
  ehloName: string | null;
  usedHelo: boolean;
  extensions: string[];
  pipelining: boolean;
  size: number | null;
  auth: { mechanisms: string[]; offeredBeforeTls: boolean };
  starttls: { offered: boolean; required: boolean };
  tls: TlsInfo | null;
  baseline: {
    sender: string | null;
    senderAccepted: boolean;
    /** The server's own domain used for the baseline, e.g. example.com. */
    ownDomain: string | null;
    catchAll: Record<string, boolean | null>;
  };
  cases: CaseResult[];
  findings: Finding[];
  timings: ServerTimings;
  sessions: SessionSummary[];
  transcript: TranscriptLine[];
  transcriptTruncated: boolean;
  /** Set when the server refused new connections with 421 and the probe had to pace itself. */
  rateLimit?: ConnectionRateLimit;
  /** The proof by delivery, when the check asked for one and the server accepted at RCPT. */
  proof?: DeliveryProof;
}

// ---------------------------------------------------------------------------------------------
// Proof by delivery (issue 12)

/**
 * Where a proof by delivery stands: not sent (the server refused it, or a cap), sent and waited
 * for, delivered to relaycheck's sink, or not delivered within the wait.
 */
export const PROOF_STATUSES = ["not-sent", "sent", "delivered", "not-delivered"] as const;
export type ProofStatus = (typeof PROOF_STATUSES)[number];

/** What the sink saw of a proof message: the envelope and the Received: chain (the body is dropped). */
export interface DeliveryArrival {
  /** ISO time the sink had the whole message. */
  at: string;
  /** The address that handed the message to the sink. */
  remoteAddress: string;
  /** The name that address gave in EHLO/HELO. */
  heloName: string | null;
  mailFrom: string;
  rcptTo: string;
  /** The message's Received: header fields, top (the last hop) first, unfolded. */
  received: string[];
}

/** The one message a proof by delivery sends through a server, and what became of it. */
export interface DeliveryProof {
  status: ProofStatus;
  /** The case whose accepted form (plain or a trick) the message used. */
  caseId: string | null;
  mailFrom: string;
  /** The recipient, with the single-use token shown as "<token>". */
  rcptTo: string;
  /** ISO time the server accepted the message (its reply to the end of DATA). */
  sentAt: string | null;
  /** The server's reply to the end of DATA (or the reply that refused the message). */
  reply: Pick<SmtpReply, "code" | "enhanced" | "text"> | null;
  /** How long relaycheck waits for the message at its sink. */
  waitMs: number;
  /** ISO time the wait ends. */
  waitUntil: string | null;
  arrival: DeliveryArrival | null;
  /** From the end of DATA to the sink's arrival. */
  delayMs: number | null;
  /** For people, e.g. "proven: delivered in 3.2 s via 127.0.0.21". */
  detail: string;
  /** The proof session, as the probe's own transcript lines (session 0), token masked. */
  transcript: TranscriptLine[];
}

export interface ResolutionInfo {
  /** MX records in preference order (empty for an IP target or an implicit MX). */
  mx: { exchange: string; preference: number }[];
  implicitMx: boolean;
  /** Null MX (RFC 7505): the domain says it accepts no mail. */
  nullMx: boolean;
  /** Addresses per host, as resolved. */
  hosts: { host: string; addresses: string[]; error: string | null }[];
  /** Addresses the policy refused: reported, never connected to. */
  refused: { host: string; ip: string; port: number; reason: string }[];
  errors: string[];
  durationMs: number;
}

export interface CheckReport {
  schemaVersion: number;
  target: NormalizedTarget;
  options: {
    ports: number[];
    ehloName: string;
    senderDomain: string;
    recipientDomain: string;
  };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  verdict: Verdict;
  reason: string;
  resolution: ResolutionInfo;
  servers: ServerReport[];
}

/** Identifies a server within a check: `${ip}:${port}` with IPv6 in brackets. */
export type ServerKey = string;

export type ProbeEvent =
  | { type: "resolved"; t: number; resolution: ResolutionInfo; servers: { key: ServerKey; host: string; ip: string; port: number }[] }
  | { type: "connected"; t: number; server: ServerKey; session: number; tls: boolean }
  | {
      type: "reply";
      t: number;
      server: ServerKey;
      session: number;
      /** The command this reply answers (null for the greeting). */
      command: string | null;
      reply: SmtpReply;
    }
  | { type: "case-result"; t: number; server: ServerKey; result: CaseResult }
  | { type: "server-done"; t: number; server: ServerKey; report: ServerReport }
  | { type: "done"; t: number; report: CheckReport };

export type ProbeEventType = ProbeEvent["type"];
