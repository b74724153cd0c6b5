import net from "node:net";
import { selectBlocklists } from "./blocklists";
import { createBlocklistChecker, type BlocklistChecker } from "./check-blocklists";
import { dnsErrorCode, queryDns } from "./dns-query";
import { certificateDaysLeft } from "./findings";
import type { ServerTarget } from "./resolve-target";
import type { BlocklistLookup, Finding, NormalizedTarget, ProbeOptions, ServerBlocklists, ServerNameFacts, ServerReport } from "./types";

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** What a check adds to each server's report besides the SMTP conversation. */
export interface ServerFacts {
  /** The report with its facts and their findings; waits for the server's blocklist answers. */
  addTo(server: ServerTarget, report: ServerReport): Promise<ServerReport>;
}

/**
 * Facts beside the verdict, gathered while the servers are probed (issue 13):
 * 1. at once, for every address: the DNS blocklists; for the checked domain and each host name:
 *    the domain lists; all through the check's DNS servers, with their own budget;
 * 2. per server, once its probe is done: the HELO name's forward lookup against the address and
 *    the forward-confirmed PTR names (FCrDNS), the certificate's days left;
 * 3. findings for what a mail administrator should act on.
 */
export function startServerFacts(target: NormalizedTarget, servers: ServerTarget[], options: ProbeOptions): ServerFacts {
  const lists = selectBlocklists(options.blocklists?.zones);
  const checker: BlocklistChecker | null = lists.length
    ? createBlocklistChecker({
        lists,
        dnsServers: options.dnsServers,
        queryTimeoutMs: options.blocklists?.queryTimeoutMs,
        budgetMs: options.blocklists?.budgetMs,
        cache: options.blocklists?.cache,
        signal: options.signal,
      })
    : null;
  // Every lookup starts now, side by side with the probes; addTo only collects the answers.
  if (checker) {
    for (const ip of new Set(servers.map((s) => s.ip))) void checker.address(ip);
    for (const name of new Set(servers.flatMap((s) => domainsOf(target, s)))) void checker.domain(name);
  }

  return {
    async addTo(server, report) {
      const [names, dnsbl] = await Promise.all([nameFacts(server, report, options), checker ? serverBlocklists(checker, target, server) : undefined]);
      const tls = report.tls && !report.tls.error ? { ...report.tls, daysLeft: certificateDaysLeft(report.tls) } : report.tls;
      const findings = [...report.findings, ...nameFindings(report, names), ...(dnsbl ? blocklistFindings(report, dnsbl) : [])];
      return { ...report, tls, names, ...(dnsbl ? { dnsbl } : {}), findings };
    },
  };
}

/** The checked domain and the server's host name: the names domain lists are asked about. */
function domainsOf(target: NormalizedTarget, server: ServerTarget): string[] {
  const names = [server.host, ...(target.kind === "domain" ? [target.name] : [])].map((n) => n.toLowerCase());
  return [...new Set(names.filter((n) => !net.isIP(n) && HOST_NAME.test(n)))];
}

async function serverBlocklists(checker: BlocklistChecker, target: NormalizedTarget, server: ServerTarget): Promise<ServerBlocklists> {
  const [address, domains] = await Promise.all([checker.address(server.ip), Promise.all(domainsOf(target, server).map((n) => checker.domain(n)))]);
  return { ...address, domains };
}

/** The HELO/EHLO name against PTR and forward lookups. */
async function nameFacts(server: ServerTarget, report: ServerReport, options: ProbeOptions): Promise<ServerNameFacts> {
  const given = [report.ehloName, firstWord(report.banner)].map((n) => n?.toLowerCase().replace(/\.$/, "") ?? null);
  const heloName = given.find((n): n is string => n !== null && HOST_NAME.test(n)) ?? null;
  const fcrdns = [...server.confirmedPtr];
  let heloResolves: boolean | null = null;
  if (heloName) {
    const ask = (type: "A" | "AAAA") =>
      queryDns(options.dnsServers, options.timeouts.dnsMs, (r) => (type === "A" ? r.resolve4(heloName) : r.resolve6(heloName)), options.signal);
    const answers = await Promise.allSettled([ask("A"), ask("AAAA")]);
    const addresses = answers.flatMap((a) => (a.status === "fulfilled" ? a.value : []));
    const failed = answers.some((a) => a.status === "rejected" && !["ENOTFOUND", "ENODATA"].includes(dnsErrorCode(a.reason) ?? ""));
    if (addresses.some((a) => sameIp(a, server.ip))) heloResolves = true;
    else if (!failed) heloResolves = false;
  }
  const heloMatchesPtr = heloName && server.ptr.length > 0 && !server.ptrError ? fcrdns.includes(heloName) : null;
  return { heloName, heloResolves, fcrdns, heloMatchesPtr };
}

export function nameFindings(report: ServerReport, names: ServerNameFacts): Finding[] {
  if (report.status !== "ok" || names.heloResolves !== false || !names.heloName) return [];
  return [
    {
      id: "helo-name-unresolved",
      severity: "info",
      message: `The server calls itself ${names.heloName}, but that name does not resolve to ${report.ip}; receivers that check the HELO name against the sending address may distrust mail from this server.`,
    },
  ];
}

/** One finding for the address's listings, one per listed domain name. */
export function blocklistFindings(report: Pick<ServerReport, "ip">, dnsbl: ServerBlocklists): Finding[] {
  const findings: Finding[] = [];
  if (dnsbl.listed.length) {
    const asked = dnsbl.listed.length + dnsbl.notListed.length + dnsbl.couldNotQuery.length;
    findings.push({
      id: "dnsbl-listed",
      severity: "warning",
      message: `${report.ip} is listed on ${dnsbl.listed.length} of ${asked} DNS blocklists (${describeListings(dnsbl)}); receivers that use these lists refuse or junk mail from it.`,
    });
  }
  for (const domain of dnsbl.domains.filter((d) => d.listed.length)) {
    findings.push({
      id: "dnsbl-domain-listed",
      severity: "warning",
      message: `The name ${domain.subject} is listed on ${describeListings(domain)}; receivers that use these lists refuse or junk mail that names it.`,
    });
  }
  return findings;
}

function describeListings(lookup: BlocklistLookup): string {
  return lookup.listed.map((l) => `${l.list}: ${l.meanings.join("; ")}`).join(", ");
}

function firstWord(banner: string | null): string | null {
  if (!banner) return null;
  return banner.split("\n")[0]!.trim().split(/\s+/)[0] || null;
}

function sameIp(a: string, b: string): boolean {
  if (net.isIPv6(a) && net.isIPv6(b)) return new net.SocketAddress({ address: a, family: "ipv6" }).address === new net.SocketAddress({ address: b, family: "ipv6" }).address;
  return a === b;
}
