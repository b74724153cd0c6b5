import { Resolver } from "node:dns/promises";
import net from "node:net";
import type { AddressPolicy, NormalizedTarget, ResolutionInfo } from "./types";

/** One address and port to test, as resolution found it. */
export interface ServerTarget {
  host: string;
  ip: string;
  family: 4 | 6;
  port: number;
  mxPreference: number | null;
  ptr: string[];
  /** PTR names that resolve back to `ip` (forward-confirmed reverse DNS). */
  confirmedPtr: string[];
  ptrError: string | null;
}

export interface ResolveOptions {
  ports: number[];
  dnsServers: string[];
  dnsMs: number;
  maxMxHosts: number;
  maxAddresses: number;
  addressPolicy: AddressPolicy;
  signal?: AbortSignal;
}

/** DNS failures people can read: NXDOMAIN is not the same as "no such record". */
function dnsMessage(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case "ENOTFOUND":
      return "the name does not exist (NXDOMAIN)";
    case "ENODATA":
      return "no such record";
    case "ETIMEOUT":
    case "ETIMEDOUT":
      return "the DNS query timed out";
    case "ESERVFAIL":
      return "the DNS server failed (SERVFAIL)";
    case "ECONNREFUSED":
      return "the DNS server refused the query";
    case "EREFUSED":
      return "the DNS server refused the query (REFUSED)";
    case "ECANCELLED":
      return "the DNS query was cancelled";
    default:
      return code ? `DNS error ${code}` : String((err as Error)?.message ?? err);
  }
}

function isNoData(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === "ENODATA";
}

/**
 * c-ares's timeout per try: the whole budget (up to this cap). A shorter try would retransmit
 * sooner, but c-ares drops a late answer to the first try, so a server slower than one try never
 * gets through.
 */
const DNS_TRY_MAX_MS = 5_000;
const DNS_TRIES = 2;

/**
 * Runs DNS lookups, each on a Resolver of its own with its own time budget. `Resolver#cancel`
 * cancels every query outstanding on that resolver, so a shared one would let one lookup that
 * never answers cancel its siblings (a forward confirmation started later, a slow host's A).
 */
class Lookups {
  private readonly active = new Set<Resolver>();
  private cancelled = false;

  constructor(
    private readonly servers: string[],
    private readonly budgetMs: number,
  ) {}

  run<T>(query: (resolver: Resolver) => Promise<T>): Promise<T> {
    if (this.cancelled) return Promise.reject(Object.assign(new Error("DNS lookup cancelled"), { code: "ECANCELLED" }));
    const resolver = new Resolver({ timeout: Math.max(1, Math.min(this.budgetMs, DNS_TRY_MAX_MS)), tries: DNS_TRIES });
    if (this.servers.length) resolver.setServers(this.servers);
    this.active.add(resolver);
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      query(resolver),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error("DNS timeout"), { code: "ETIMEOUT" })), this.budgetMs);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      this.active.delete(resolver);
      resolver.cancel(); // this lookup's own query only, if it is still outstanding
    });
  }

  /** The check was cancelled: every outstanding lookup ends now. */
  cancelAll(): void {
    this.cancelled = true;
    for (const resolver of this.active) resolver.cancel();
  }
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Names that come from DNS (MX exchanges, PTR) are server data: only sane host names are used. */
export function isHostName(name: string): boolean {
  return HOST_NAME.test(name.toLowerCase());
}

/**
 * Resolution, step by step:
 * 1. a name: MX records in preference order (capped); none → the name itself (implicit MX);
 *    a null MX ("0 .") → no servers;
 * 2. A and AAAA of each host;
 * 3. every address and port goes through the target policy; refused ones are reported;
 * 4. PTR of each allowed address, and the A/AAAA of each PTR name (forward confirmation).
 * The connection later goes to exactly these addresses: no second lookup.
 */
export async function resolveTarget(target: NormalizedTarget, options: ResolveOptions): Promise<{ info: ResolutionInfo; servers: ServerTarget[] }> {
  const started = performance.now();
  const lookups = new Lookups(options.dnsServers, options.dnsMs);
  const onAbort = () => lookups.cancelAll();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const mx = (name: string) => lookups.run((r) => r.resolveMx(name));
  const a = (name: string) => lookups.run((r) => r.resolve4(name));
  const aaaa = (name: string) => lookups.run((r) => r.resolve6(name));
  const reverse = (ip: string) => lookups.run((r) => r.reverse(ip));

  const info: ResolutionInfo = { mx: [], implicitMx: false, nullMx: false, hosts: [], refused: [], errors: [], durationMs: 0 };
  const hosts: { host: string; preference: number | null }[] = [];

  try {
    if (target.kind !== "domain") {
      info.hosts.push({ host: target.name, addresses: [target.name], error: null });
    } else {
      try {
        const records = (await mx(target.name)).sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange));
        if (records.length === 1 && (records[0]!.exchange === "" || records[0]!.exchange === ".")) {
          info.nullMx = true;
        } else {
          for (const r of records) {
            const exchange = r.exchange.toLowerCase().replace(/\.$/, "");
            if (!isHostName(exchange)) {
              info.errors.push(`MX record "${r.exchange}" is not a valid host name; skipped`);
              continue;
            }
            info.mx.push({ exchange, preference: r.priority });
          }
          if (info.mx.length > options.maxMxHosts) {
            info.errors.push(`${info.mx.length} MX hosts: only the first ${options.maxMxHosts} are tested`);
          }
          for (const r of info.mx.slice(0, options.maxMxHosts)) {
            if (!hosts.some((h) => h.host === r.exchange)) hosts.push({ host: r.exchange, preference: r.preference });
          }
        }
      } catch (err) {
        if (isNoData(err)) {
          info.implicitMx = true;
          hosts.push({ host: target.name, preference: null });
        } else {
          info.errors.push(`MX lookup for ${target.name} failed: ${dnsMessage(err)}`);
        }
      }
      const found = await Promise.all(
        hosts.map(async ({ host }) => {
          const [v4, v6] = await Promise.allSettled([a(host), aaaa(host)]);
          const addresses = [...(v4.status === "fulfilled" ? v4.value : []), ...(v6.status === "fulfilled" ? v6.value : [])];
          const failures = [v4, v6].filter((r): r is PromiseRejectedResult => r.status === "rejected" && !isNoData(r.reason));
          const error = addresses.length === 0 ? (failures[0] ? dnsMessage(failures[0].reason) : "no A or AAAA records") : null;
          return { host, addresses, error };
        }),
      );
      info.hosts.push(...found);
    }

    const servers: ServerTarget[] = [];
    const seen = new Set<string>();
    for (const { host, addresses } of info.hosts) {
      const preference = hosts.find((h) => h.host === host)?.preference ?? null;
      for (const ip of addresses) {
        if (seen.has(ip)) continue;
        seen.add(ip);
        if (seen.size > options.maxAddresses) {
          info.errors.push(`more than ${options.maxAddresses} addresses: ${ip} and later ones are not tested`);
          break;
        }
        for (const port of options.ports) {
          const decision = options.addressPolicy(ip, port);
          if (!decision.allowed) {
            info.refused.push({ host, ip, port, reason: decision.reason });
            continue;
          }
          servers.push({ host, ip, family: net.isIPv6(ip) ? 6 : 4, port, mxPreference: preference, ptr: [], confirmedPtr: [], ptrError: null });
        }
      }
    }

    const ptrs = new Map<string, { ptr: string[]; confirmed: string[]; error: string | null }>();
    await Promise.all(
      [...new Set(servers.map((s) => s.ip))].map(async (ip) => {
        try {
          const names = (await reverse(ip)).map((n) => n.toLowerCase().replace(/\.$/, "")).filter(isHostName);
          const confirmed: string[] = [];
          await Promise.all(
            names.map(async (name) => {
              const forward = await Promise.allSettled([a(name), aaaa(name)]);
              if (forward.some((r) => r.status === "fulfilled" && r.value.some((a) => sameIp(a, ip)))) confirmed.push(name);
            }),
          );
          ptrs.set(ip, { ptr: names, confirmed, error: null });
        } catch (err) {
          ptrs.set(ip, { ptr: [], confirmed: [], error: isNoData(err) || (err as NodeJS.ErrnoException)?.code === "ENOTFOUND" ? null : dnsMessage(err) });
        }
      }),
    );
    for (const s of servers) {
      const p = ptrs.get(s.ip);
      if (p) Object.assign(s, { ptr: p.ptr, confirmedPtr: p.confirmed, ptrError: p.error });
    }
    info.durationMs = Math.round(performance.now() - started);
    return { info, servers };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

function sameIp(a: string, b: string): boolean {
  if (a === b) return true;
  if (net.isIPv6(a) && net.isIPv6(b)) return expand6(a) === expand6(b);
  return false;
}

function expand6(ip: string): string {
  const [head, tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = ip.includes("::") ? Array(8 - h.length - t.length).fill("0") : [];
  return [...h, ...fill, ...t].map((x) => x.padStart(4, "0")).join(":").toLowerCase();
}
