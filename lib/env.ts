/**
 * The service's configuration: `process.env` parsed once with zod, in the web server (at start,
 * from instrumentation.ts) and in the worker (worker/main.ts). A bad value stops the process with
 * the name of the variable. Every variable is documented here and in the README.
 *
 * Code that tests use takes its settings as arguments (see lib/checks/services.ts); only the
 * wiring calls `getEnv()`.
 */
import { z } from "zod";
import { DEFAULT_IPV6_PREFIX } from "@/lib/security/client-ip";
import { parseAllowList } from "@/lib/security/target-policy";
import { checkShippedBlocklists } from "@/lib/probe/blocklist-file";
import { parseBlocklistSelection } from "@/lib/probe/blocklists";
import { parseClusterNode } from "@/lib/queue/create-redis";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** "a, b ,c" → ["a", "b", "c"] */
const list = z
  .string()
  .transform((v) => v.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean));

const portList = list.pipe(z.array(z.string().regex(/^\d{1,5}$/, "expected port numbers").transform(Number).pipe(z.number().int().min(1).max(65535))));

/** "ip" or "ip:port" or "[v6]:port": what the engine's resolver accepts. */
const dnsServerList = list.pipe(
  z.array(z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:]+)$/, "expected ip, ip:port or [ipv6]:port")),
);

/** A CIDR list (RELAYCHECK_ALLOW_TARGETS and the like), normalised; a bad entry names itself. */
const cidrList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    try {
      return parseAllowList(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: e instanceof Error ? e.message : "invalid CIDR list" });
      return z.NEVER;
    }
  });

const hostName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/, "expected a host name");

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** PostgreSQL connection string (required; `npm start` sets it when it starts an embedded one). */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "expected a postgresql:// URL"),
  /** Redis connection string. */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "expected a redis:// URL").default("redis://127.0.0.1:6379"),
  /**
   * Seed nodes of a Redis Cluster ("host:port" or "redis://[user:password@]host:port", comma-
   * separated); when set the service runs on the cluster and REDIS_URL is not used. Unset: one
   * Redis server at REDIS_URL.
   */
  REDIS_CLUSTER_NODES: list
    .pipe(z.array(z.string()))
    .superRefine((nodes, ctx) => {
      for (const node of nodes) {
        try {
          parseClusterNode(node);
        } catch (e) {
          ctx.addIssue({ code: "custom", message: e instanceof Error ? e.message : "invalid node" });
        }
      }
    })
    .default([]),
  /** Prefix of every Redis key of this deployment (BullMQ queue, live streams, rate limits). */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default("relaycheck"),
  /** BullMQ queue name of the checks. */
  QUEUE_NAME: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default("checks"),
  /** Web server address (read by Next's server; listed here so a bad value fails early). */
  HOST: z.string().default("127.0.0.1"),
  PORT: int(1, 65535).default(3000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  /** CIDR list of otherwise refused addresses that may be probed (intranets, tests): the only way in. */
  RELAYCHECK_ALLOW_TARGETS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseAllowList(v);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: e instanceof Error ? e.message : "invalid CIDR list" });
        return z.NEVER;
      }
    }),
  /** Ports besides 25, 465 and 587 that may be probed. */
  RELAYCHECK_EXTRA_PORTS: portList.default([]),
  /** Accept reserved names (.test, .example, .invalid, localhost…) as targets (tests with a local DNS). */
  RELAYCHECK_ALLOW_RESERVED_NAMES: bool.default(false),
  /** DNS servers of the engine ("ip" or "ip:port"); empty means the system's. Tests set a local one. */
  RELAYCHECK_DNS_SERVERS: dnsServerList.default([]),
  /**
   * DNS blocklists asked about every server address and the checked names: zones from
   * lib/probe/data/dnsbl-lists.json (comma-separated; "default" adds the default set), or "off".
   * Unset: the default set.
   */
  RELAYCHECK_DNSBLS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      try {
        return parseBlocklistSelection(v);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: e instanceof Error ? e.message : "invalid blocklist list" });
        return z.NEVER;
      }
    }),
  /** How long a server address's blocklist answers are kept in Redis and reused; 0 asks every check. */
  RELAYCHECK_DNSBL_CACHE_SECONDS: int(0, 86_400).default(900),
  /** Name sent in EHLO/HELO, and the domains of the probe's addresses. */
  RELAYCHECK_EHLO_NAME: hostName.optional(),
  RELAYCHECK_SENDER_DOMAIN: hostName.optional(),
  RELAYCHECK_RECIPIENT_DOMAIN: hostName.optional(),

  /**
   * Checks one worker process runs at once. Most of a check is waiting for the server's replies
   * (a slow or tarpitting server holds its check up to the probe budget), so this is sized for I/O
   * waits, not for cores: bench/tarpit-concurrency.ts runs 200 tarpit checks at once in one
   * worker (README "Scaling out").
   */
  WORKER_CONCURRENCY: int(1, 1000).default(200),
  /** PostgreSQL connections of one worker process (its checks' writes queue for them). */
  WORKER_DATABASE_POOL_SIZE: int(1, 1000).default(10),
  /**
   * Probes of one server address (all its ports) at once across all workers. The engine opens at
   * most 2 connections per probe, so 1 keeps a server at 2 connections or fewer.
   */
  RELAYCHECK_MAX_CHECKS_PER_SERVER: int(1, 16).default(1),
  /** A check of the same target and ports newer than this is returned instead of a new one. */
  CHECK_REUSE_WINDOW_SECONDS: int(0, 86_400).default(300),
  /** `fresh: true` is honoured only when the latest check of the target is older than this. */
  CHECK_FRESH_COOLDOWN_SECONDS: int(0, 86_400).default(60),
  /** New checks per client IP per window. */
  RATE_LIMIT_CLIENT_POINTS: int(1, 1_000_000).default(10),
  RATE_LIMIT_CLIENT_WINDOW_SECONDS: int(1, 86_400).default(600),
  /** New probes of one target per window (reused reports do not count). */
  RATE_LIMIT_TARGET_POINTS: int(1, 1_000_000).default(5),
  RATE_LIMIT_TARGET_WINDOW_SECONDS: int(1, 86_400).default(3600),
  /**
   * Probes of one server address per window, whatever name or port led to it (many domains can
   * share one MX): a server over it is reported "not tested" (rate-limited), not probed.
   */
  RATE_LIMIT_SERVER_POINTS: int(1, 1_000_000).default(20),
  RATE_LIMIT_SERVER_WINDOW_SECONDS: int(1, 86_400).default(3600),
  /** API reads (GET) per client IP per minute. */
  RATE_LIMIT_READS_PER_MINUTE: int(1, 1_000_000).default(600),
  /**
   * Leading bits of an IPv6 address that make one client for every per-client limit: one
   * subscriber or server usually gets a whole /64, so counting single addresses limits nobody.
   * 128 counts each address; IPv4 clients always count per address.
   */
  RATE_LIMIT_IPV6_PREFIX: int(32, 128).default(DEFAULT_IPV6_PREFIX),
  /**
   * Limits of requests with an API key (`Authorization: Bearer rk_…`, keys made with
   * `npm run apikey -- create <name>`), counted per key instead of per IP. A key may carry its own
   * points (`--points`, `--reads-per-minute`), which override these.
   */
  RATE_LIMIT_KEY_POINTS: int(1, 1_000_000).default(200),
  RATE_LIMIT_KEY_WINDOW_SECONDS: int(1, 86_400).default(600),
  RATE_LIMIT_KEY_READS_PER_MINUTE: int(1, 1_000_000).default(6000),
  /**
   * Whether to believe X-Forwarded-For: "false" (default: the peer address is the client),
   * "true" (one proxy in front), or the number of trusted proxies in front of the service.
   */
  TRUST_PROXY: z
    .string()
    .default("false")
    .transform((v, ctx) => {
      if (v === "false" || v === "0" || v === "") return 0;
      if (v === "true") return 1;
      const n = Number(v);
      if (Number.isInteger(n) && n > 0 && n < 32) return n;
      ctx.addIssue({ code: "custom", message: 'expected "false", "true" or a number of proxies' });
      return z.NEVER;
    }),
  /** Key of the HMAC under which client IPs are stored (at least 32 characters). */
  IP_HASH_SECRET: z.string().min(32, "must be at least 32 characters"),
  /** Transcripts and events of checks older than this are deleted; 0 keeps them. */
  RETENTION_DAYS: int(0, 3650).default(30),
  /**
   * Finished reports kept in each web process (lib/checks/report-cache.ts): how long one is
   * served from memory before it is read again (so a deleted or purged report is gone from every
   * web process within this; 0 turns the cache off), and the memory they may take together.
   */
  REPORT_CACHE_TTL_SECONDS: int(0, 3600).default(60),
  REPORT_CACHE_MAX_MB: int(1, 4096).default(64),
  /**
   * How long each web process shows a target's history on its report pages before reading it
   * again (lib/checks/target-history-cache.ts): a new check of the target shows on its other
   * reports within this. 0 reads it on every view.
   */
  HISTORY_CACHE_TTL_SECONDS: int(0, 300).default(5),

  /** Probe time limits (ms); unset means the engine's defaults. */
  PROBE_CONNECT_TIMEOUT_MS: int(100, 120_000).optional(),
  PROBE_GREETING_TIMEOUT_MS: int(100, 300_000).optional(),
  PROBE_COMMAND_TIMEOUT_MS: int(100, 300_000).optional(),
  PROBE_SERVER_TOTAL_MS: int(1000, 900_000).optional(),
  /**
   * The probe's pause before a case that got a temporary refusal runs again in a later session
   * (engine default 3 s), and its longest wait for a server's connection rate limit (62 s).
   */
  RELAYCHECK_RETRY_PAUSE_MS: int(0, 600_000).optional(),
  RELAYCHECK_RATE_LIMIT_WAIT_MS: int(0, 900_000).optional(),
  /**
   * The automatic re-check of cases that got a temporary refusal (greylisting): round n runs this
   * many seconds after the check started, comma-separated and increasing (at most 5 rounds);
   * "off" turns it off.
   */
  RECHECK_DELAYS_SECONDS: z
    .string()
    .default("360,960")
    .transform((v, ctx) => {
      if (v.trim().toLowerCase() === "off") return [];
      const parts = v.split(",").map((p) => p.trim());
      const seconds = parts.map(Number);
      const bad = parts.find((p, i) => !/^\d+$/.test(p) || seconds[i]! < 1 || seconds[i]! > 86_400);
      if (bad !== undefined) {
        ctx.addIssue({ code: "custom", message: `"${bad}" is not a number of seconds from 1 to 86400 (use e.g. "360,960", or "off")` });
        return z.NEVER;
      }
      if (seconds.length > 5) ctx.addIssue({ code: "custom", message: "at most 5 rounds" });
      if (seconds.some((s, i) => i > 0 && s <= seconds[i - 1]!)) ctx.addIssue({ code: "custom", message: "each round must come later than the one before (increasing seconds)" });
      return seconds;
    }),
  /** Longest a whole check may run before the worker aborts it. */
  CHECK_TIMEOUT_MS: int(1000, 3_600_000).default(300_000),
  /**
   * Longest a check may wait in the queue. Its deadline (stored with it) is this plus
   * CHECK_TIMEOUT_MS; a check still queued or running past it is ended by the reconciler.
   */
  CHECK_QUEUE_TIMEOUT_MS: int(1000, 86_400_000).default(600_000),
  /** How often the reconciler looks for checks whose job vanished or whose deadline passed. */
  RECONCILE_EVERY_MS: int(1000, 3_600_000).default(15_000),
  /** A queued or running check whose job is missing this long is re-enqueued (or failed). */
  RECONCILE_GRACE_MS: int(0, 3_600_000).default(10_000),
  /** A worker's lock on a running job; a dead worker's job is taken over within about this. */
  JOB_LOCK_MS: int(2000, 600_000).default(15_000),
  /** A server slot's lease, renewed while its probe runs: a dead worker's slot frees within it. */
  SERVER_SLOT_LEASE_MS: int(2000, 600_000).default(15_000),
  /** Longest a web request waits for Redis before answering 503. */
  REDIS_COMMAND_TIMEOUT_MS: int(100, 60_000).default(2000),

  /** Seconds between SSE keep-alive comments. */
  SSE_KEEPALIVE_SECONDS: int(1, 300).default(15),
  /**
   * Longest life of one SSE response; the server then ends it and the browser's EventSource
   * resumes with Last-Event-ID (each stream ends between 90 % and 100 % of this, so that a crowd
   * does not reconnect at one instant).
   */
  SSE_MAX_LIFETIME_SECONDS: int(1, 86_400).default(300),
  /** Open SSE streams per client (API key or address) per web process; the next gets 429. */
  SSE_MAX_STREAMS_PER_CLIENT: int(1, 100_000).default(20),
  /** Open SSE streams per web process; the next gets 503. */
  SSE_MAX_STREAMS: int(1, 1_000_000).default(10_000),
  /**
   * How often a web process reads the status of each check it streams (one read per check, not
   * per viewer): ends the streams of a check whose last events reached PostgreSQL but not Redis.
   */
  SSE_STATUS_POLL_MS: int(100, 600_000).default(15_000),
  /** Live stream of a check: kept this long after the check ends, and capped at this many entries. */
  STREAM_TTL_SECONDS: int(10, 604_800).default(3600),
  STREAM_MAXLEN: int(100, 1_000_000).default(10_000),

  /**
   * Monitoring (lib/monitors). Tests only: the shortest interval a monitor may have, in seconds,
   * below the service's hour, so that tests run monitors every second or two.
   */
  RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS: int(1, 3600).optional(),
  /** Monitors one API key may have. */
  MONITORS_PER_KEY: int(1, 100_000).default(100),
  /** The service's address as people reach it: alerts link to reports under it (default http://HOST:PORT). */
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: "expected an http(s):// URL" }).optional(),
  /** SMTP relay for alert emails ("smtp://user:pass@host:587", "smtps://…:465"); unset: no email alerts. */
  SMTP_URL: z.string().regex(/^smtps?:\/\/[^\s]+$/, "expected an smtp:// or smtps:// URL").optional(),
  /** From address of alert emails. */
  ALERT_EMAIL_FROM: z.string().regex(/^[^\r\n]{3,200}$/, "expected an address on one line").default("relaycheck <relaycheck@localhost>"),
  /** Tries of one alert (webhook or email) before it is given up, with exponential backoff from ALERT_RETRY_BASE_MS. */
  ALERT_ATTEMPTS: int(1, 20).default(6),
  ALERT_RETRY_BASE_MS: int(10, 3_600_000).default(60_000),
  /** CIDR list of otherwise refused addresses (loopback, private) that webhooks may be sent to. */
  WEBHOOK_ALLOW_TARGETS: cidrList,

  /** Bearer token that opens /metrics to clients other than loopback ones (16+ characters); unset: loopback only. */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** The worker's /metrics port (0: any free port, logged); unset: the worker serves no metrics. */
  WORKER_METRICS_PORT: int(0, 65535).optional(),
  WORKER_METRICS_HOST: z.string().default("127.0.0.1"),

  /**
   * Proof by delivery (issue 12): who may ask a check to send one real message through a server
   * that accepted at RCPT, to relaycheck's own sink: "off", "api-key" (requests with an API key
   * only; the default) or "everyone". It needs RELAYCHECK_SINK_DOMAIN.
   */
  RELAYCHECK_DELIVERY_PROOF: z.enum(["off", "api-key", "everyone"]).default("api-key"),
  /** The domain the sink takes proof messages for (its MX points at the sink); unset: no proofs. */
  RELAYCHECK_SINK_DOMAIN: hostName.optional(),
  /** How long a check waits for its proof message at the sink (default 10 min). */
  RELAYCHECK_DELIVERY_WAIT_MS: int(100, 86_400_000).default(600_000),
  /** Proof messages through one server for one target in 24 hours. */
  RELAYCHECK_DELIVERY_PROOFS_PER_DAY: int(1, 1000).default(1),
  /** Where the sink (`npm run sink`) listens: port 25 on every address by default. */
  RELAYCHECK_SINK_HOST: z.string().default("0.0.0.0"),
  RELAYCHECK_SINK_PORT: int(0, 65535).default(25),
});

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {
  override name = "EnvError";
}

/** Parses an environment; throws an EnvError naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  // An empty variable (`FOO=`, as docker compose passes unset ones) means "not set".
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v.trim() !== ""));
  const result = envSchema.safeParse(present);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
  throw new EnvError(`Invalid environment:\n${lines.join("\n")}`);
}

let cached: Env | undefined;

/**
 * The process's environment, parsed on first use and then kept. The blocklist data file is
 * checked here too, once per service process (the CLI reads it unchecked: its build checked it).
 */
export function getEnv(): Env {
  if (!cached) {
    checkShippedBlocklists();
    cached = parseEnv(process.env);
  }
  return cached;
}

/** For process entry points: parse the environment now, or print what is wrong and exit. */
export function getEnvOrExit(): Env {
  try {
    return getEnv();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
