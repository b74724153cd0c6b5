import { createHash } from "node:crypto";
import net from "node:net";
import type { BlocklistDefinition } from "./blocklists";
import { dnsErrorCode, queryDns } from "./dns-query";
import type { BlocklistCache, BlocklistLookup, BlocklistProblem } from "./types";

/** Longest wait for one list's answer: a list that is slower counts as "could not query". */
export const DNSBL_QUERY_TIMEOUT_MS = 3_000;
/** Longest all of a check's blocklist lookups may take from their start. */
export const DNSBL_BUDGET_MS = 10_000;
/** Questions in flight at once, over all addresses and lists of a check. */
export const DNSBL_MAX_PARALLEL_QUERIES = 16;
/** How long a service keeps an address's answers (a popular server is not asked every check). */
export const DNSBL_CACHE_TTL_MS = 15 * 60_000;
/** A cache that does not answer within this is skipped (a frozen Redis costs no more). */
const CACHE_TIMEOUT_MS = 1_000;
/** Bumped when the cached shape changes: old entries are then never read. */
const CACHE_VERSION = "1";

export interface BlocklistCheckOptions {
  lists: readonly BlocklistDefinition[];
  /** The check's DNS servers (as the probe's): empty means the system's. */
  dnsServers: readonly string[];
  queryTimeoutMs?: number;
  budgetMs?: number;
  maxParallel?: number;
  cache?: BlocklistCache;
  cacheTtlMs?: number;
  signal?: AbortSignal;
}

/** Lookups of one check: each subject is asked once, all share one budget and one limit. */
export interface BlocklistChecker {
  address(ip: string): Promise<BlocklistLookup>;
  domain(name: string): Promise<BlocklistLookup>;
}

type Answer = { ok: true; addresses: string[] } | { ok: false; code: string | undefined };

type Verdict =
  | { status: "listed"; codes: string[]; meanings: string[] }
  | { status: "not-listed" }
  | { status: "unanswered"; problem: BlocklistProblem; reason: string; codes: string[] };

/**
 * Asks DNS blocklists about addresses (IPv4: reversed octets, IPv6: reversed nibbles, under
 * each list's zone) and domain names (the name under the zone), through the check's own DNS
 * servers, a bounded number at once, each question with its own timeout and all within one
 * budget. Each answer is read against the list's documentation:
 * - NXDOMAIN (or no A record): not listed;
 * - documented codes: listed, with their meanings;
 * - a documented error code (Spamhaus's 127.255.255.x: "this resolver may not ask"), any other
 *   answer, a DNS failure, no answer in time: could not query, never "not listed".
 * With a cache, an address's answers are reused for a short time (only complete ones: a
 * timeout is not remembered).
 */
export function createBlocklistChecker(options: BlocklistCheckOptions): BlocklistChecker {
  const queryTimeoutMs = options.queryTimeoutMs ?? DNSBL_QUERY_TIMEOUT_MS;
  const deadline = performance.now() + (options.budgetMs ?? DNSBL_BUDGET_MS);
  const limit = createLimiter(options.maxParallel ?? DNSBL_MAX_PARALLEL_QUERIES);
  const started = new Map<string, Promise<BlocklistLookup>>();

  const ask = async (name: string): Promise<Answer | "budget" | "cancelled"> =>
    limit(async () => {
      if (options.signal?.aborted) return "cancelled";
      const left = deadline - performance.now();
      if (left <= 0) return "budget";
      try {
        const addresses = await queryDns(options.dnsServers, Math.min(queryTimeoutMs, left), (r) => r.resolve4(name), options.signal);
        return { ok: true, addresses };
      } catch (err) {
        const code = dnsErrorCode(err);
        if (code === "ECANCELLED") return "cancelled";
        if (code === "ETIMEOUT" && performance.now() >= deadline - 1) return "budget";
        return { ok: false, code };
      }
    });

  const lookup = (kind: BlocklistLookup["kind"], subject: string): Promise<BlocklistLookup> => {
    const key = `${kind}:${subject}`;
    let promise = started.get(key);
    if (!promise) {
      promise = runLookup(kind, subject, options, ask);
      started.set(key, promise);
    }
    return promise;
  };

  return {
    address: (ip) => lookup("ip", canonicalIp(ip)),
    domain: (name) => lookup("domain", name.toLowerCase().replace(/\.$/, "")),
  };
}

/** All subjects at once: what a caller without a check around it (a script, a test) needs. */
export async function checkBlocklists(
  subjects: { addresses?: string[]; domains?: string[] },
  options: BlocklistCheckOptions,
): Promise<{ addresses: Record<string, BlocklistLookup>; domains: Record<string, BlocklistLookup> }> {
  const checker = createBlocklistChecker(options);
  const [addresses, domains] = await Promise.all([
    Promise.all((subjects.addresses ?? []).map(async (ip) => [ip, await checker.address(ip)] as const)),
    Promise.all((subjects.domains ?? []).map(async (name) => [name, await checker.domain(name)] as const)),
  ]);
  return { addresses: Object.fromEntries(addresses), domains: Object.fromEntries(domains) };
}

async function runLookup(
  kind: BlocklistLookup["kind"],
  subject: string,
  options: BlocklistCheckOptions,
  ask: (name: string) => Promise<Answer | "budget" | "cancelled">,
): Promise<BlocklistLookup> {
  const startedAt = performance.now();
  const lists = options.lists.filter((l) => appliesTo(l, kind, subject));
  const key = cacheKey(kind, subject, lists);
  const cached = options.cache && lists.length ? await readCache(options.cache, key, subject) : null;
  if (cached) return { ...cached, cached: true, durationMs: Math.round(performance.now() - startedAt) };

  const result: BlocklistLookup = { subject, kind, listed: [], notListed: [], couldNotQuery: [], checkedAt: new Date().toISOString(), cached: false, durationMs: 0 };
  const verdicts = await Promise.all(
    lists.map(async (list) => {
      const name = queryName(kind, subject, list.zone);
      if (!name) return { list, verdict: unanswered("dns-error", "the name is too long to ask this list about") };
      const answer = await ask(name);
      if (answer === "budget") return { list, verdict: unanswered("budget", "the time for blocklist lookups ran out before this list answered") };
      if (answer === "cancelled") return { list, verdict: unanswered("cancelled", "the check was cancelled") };
      return { list, verdict: readAnswer(list, answer) };
    }),
  );
  for (const { list, verdict } of verdicts) {
    if (verdict.status === "listed") {
      result.listed.push({ list: list.name, zone: list.zone, codes: verdict.codes, meanings: verdict.meanings, delistUrl: list.delist });
    } else if (verdict.status === "not-listed") {
      result.notListed.push({ list: list.name, zone: list.zone });
    } else {
      result.couldNotQuery.push({ list: list.name, zone: list.zone, problem: verdict.problem, reason: verdict.reason, codes: verdict.codes });
    }
  }
  result.durationMs = Math.round(performance.now() - startedAt);
  if (options.cache && lists.length && isComplete(result)) await writeCache(options.cache, key, result, options.cacheTtlMs ?? DNSBL_CACHE_TTL_MS);
  return result;
}

/** Reads one list's answer: listed, not listed, or could not query (with why). */
export function readAnswer(list: BlocklistDefinition, answer: Answer): Verdict {
  if (!answer.ok) {
    switch (answer.code) {
      case "ENOTFOUND":
      case "ENODATA":
        return { status: "not-listed" };
      case "ETIMEOUT":
      case "ETIMEDOUT":
        return unanswered("timeout", "no answer in time");
      case "ESERVFAIL":
        return unanswered("dns-error", "the DNS server failed to get an answer (SERVFAIL)");
      case "EREFUSED":
        return unanswered("dns-error", "the DNS server refused the question (REFUSED)");
      case "ECONNREFUSED":
        return unanswered("dns-error", "the DNS server could not be reached");
      default:
        return unanswered("dns-error", `DNS error ${answer.code ?? "(unknown)"}`);
    }
  }
  const codes = [...new Set(answer.addresses)].sort(compareIps);
  if (codes.length === 0) return { status: "not-listed" };
  const error = codes.find((c) => list.errors?.[c]);
  if (error) return unanswered("error-code", list.errors![error]!, codes);
  const meanings = list.bits ? meaningsOfBits(list.bits, codes) : codes.map((c) => list.codes?.[c]);
  if (meanings.some((m) => m === undefined)) {
    return unanswered("unexpected-answer", "the list answered with a code it does not document (a resolver that rewrites answers, or a list that changed)", codes);
  }
  return { status: "listed", codes, meanings: [...new Set(meanings as string[])] };
}

/** Bitmask lists: 127.0.0.X where every set bit of X is documented; anything else is unknown. */
function meaningsOfBits(bits: Record<string, string>, codes: string[]): (string | undefined)[] {
  return codes.flatMap((code) => {
    const m = /^127\.0\.0\.(\d{1,3})$/.exec(code);
    const value = m ? Number(m[1]) : 0;
    if (!m || value === 0 || value > 255) return [undefined];
    const set = [1, 2, 4, 8, 16, 32, 64, 128].filter((b) => value & b);
    return set.map((b) => bits[String(b)]);
  });
}

function unanswered(problem: BlocklistProblem, reason: string, codes: string[] = []): Verdict {
  return { status: "unanswered", problem, reason, codes };
}

function appliesTo(list: BlocklistDefinition, kind: BlocklistLookup["kind"], subject: string): boolean {
  if (kind === "domain") return list.kind === "domain";
  if (list.kind !== "ip") return false;
  return net.isIPv6(subject) ? list.ipv6 : list.ipv4;
}

/** The name asked: `4.3.2.1.zone`, the 32 reversed nibbles of an IPv6 address, or `name.zone`. */
export function queryName(kind: BlocklistLookup["kind"], subject: string, zone: string): string | null {
  let name: string;
  if (kind === "domain") name = `${subject}.${zone}`;
  else if (net.isIPv4(subject)) name = `${subject.split(".").reverse().join(".")}.${zone}`;
  else if (net.isIPv6(subject)) name = `${expandIpv6(subject).replace(/:/g, "").split("").reverse().join(".")}.${zone}`;
  else return null;
  return name.length <= 253 ? name : null;
}

/** 2001:db8::1 → 2001:0db8:0000:0000:0000:0000:0000:0001 (an embedded IPv4 tail included). */
function expandIpv6(ip: string): string {
  let text = ip.toLowerCase().replace(/%.*$/, "");
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = tail !== undefined ? Array<string>(8 - h.length - t.length).fill("0") : [];
  return [...h, ...fill, ...t].map((p) => p.padStart(4, "0")).join(":");
}

function canonicalIp(ip: string): string {
  return net.isIPv6(ip) ? ip.toLowerCase() : ip;
}

function compareIps(a: string, b: string): number {
  const n = (ip: string) => ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
  return n(a) - n(b) || a.localeCompare(b);
}

/** Only answers worth remembering: a timeout or a DNS failure is asked again next time. */
function isComplete(result: BlocklistLookup): boolean {
  return result.couldNotQuery.every((u) => u.problem === "error-code" || u.problem === "unexpected-answer");
}

function cacheKey(kind: BlocklistLookup["kind"], subject: string, lists: BlocklistDefinition[]): string {
  // The set of lists is part of the key: a different selection never reads another's answers.
  const digest = createHash("sha256")
    .update(lists.map((l) => l.zone).sort().join(","))
    .digest("base64url")
    .slice(0, 12);
  return `v${CACHE_VERSION}:${kind}:${subject}:${digest}`;
}

async function readCache(cache: BlocklistCache, key: string, subject: string): Promise<BlocklistLookup | null> {
  try {
    const value = await withTimeout(cache.get(key), CACHE_TIMEOUT_MS);
    return value && value.subject === subject ? value : null;
  } catch {
    return null; // a cache that fails is a miss: the lists are asked
  }
}

async function writeCache(cache: BlocklistCache, key: string, value: BlocklistLookup, ttlMs: number): Promise<void> {
  try {
    await withTimeout(cache.set(key, value, ttlMs), CACHE_TIMEOUT_MS);
  } catch {
    // Not remembered: the next check asks again.
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("cache timeout")), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** Runs at most `max` tasks at once, in the order they were given. */
function createLimiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so no newcomer can slip in between.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
