/**
 * DNS blocklists against a local DNS server that plays the lists (issue 13): listed, not listed
 * (NXDOMAIN), a list that never answers (timeout), the budget running out, the error codes of
 * Spamhaus, the DBL and SURBL, an undocumented answer, IPv6 reversed-nibble names, a DNS server
 * that is not there; the cache; and a whole check whose servers carry their blocklist status,
 * findings and name facts. Every query is in the DNS server's log, exactly once: none went to
 * another resolver.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkBlocklists, probe, selectBlocklists, type BlocklistCache, type BlocklistLookup } from "@/lib/probe";
import { queryName } from "@/lib/probe/check-blocklists";
import { startClosed, startOpenRelay } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { FAST_TIMEOUTS, loopbackPolicy, testTarget } from "./helpers";

const LISTED = "192.0.2.25";
const CLEAN = "192.0.2.26";
const REFUSED = "192.0.2.27"; // Spamhaus answers "you may not ask"
const ODD = "192.0.2.28"; // SpamCop answers something it does not document
const SIX = "2001:db8::25";
const SILENT_ZONE = "psbl.surriel.com"; // never answers

const IPV4_ZONES = selectBlocklists(undefined).filter((l) => l.kind === "ip" && l.ipv4).map((l) => l.zone);
const IPV6_ZONES = selectBlocklists(undefined).filter((l) => l.kind === "ip" && l.ipv6).map((l) => l.zone);
const DOMAIN_ZONES = selectBlocklists(undefined).filter((l) => l.kind === "domain").map((l) => l.zone);

const q = (ip: string, zone: string) => queryName("ip", ip, zone)!;

let dns: LocalDnsServer;
let open: FakeServer;
let closed: FakeServer;
let misnamed: FakeServer;

beforeAll(async () => {
  open = await startOpenRelay({ host: "127.0.0.71", hostname: "mx.listed.test", domains: ["listed.test"] });
  closed = await startClosed({ host: "127.0.0.72", port: open.port, hostname: "mx.clean.test", domains: ["clean.test"] });
  misnamed = await startClosed({ host: "127.0.0.73", port: open.port, hostname: "mx.nowhere.test", domains: ["nowhere.test"] });
  dns = await startDnsServer({
    mx: { "listed.test": [{ exchange: "mx.listed.test", priority: 10 }], "clean.test": [{ exchange: "mx.clean.test", priority: 10 }] },
    a: {
      "mx.listed.test": ["127.0.0.71"],
      "mx.clean.test": ["127.0.0.72"],
      // The lists, for the addresses of the unit cases…
      [q(LISTED, "zen.spamhaus.org")]: ["127.0.0.2", "127.0.0.10"],
      [q(LISTED, "bl.spamcop.net")]: ["127.0.0.2"],
      [q(LISTED, "bl.mailspike.net")]: ["127.0.0.11"],
      [q(REFUSED, "zen.spamhaus.org")]: ["127.255.255.254"],
      [q(ODD, "bl.spamcop.net")]: ["127.0.0.3"],
      [q(SIX, "zen.spamhaus.org")]: ["127.0.0.3"],
      // …for the fakes of the whole-check cases…
      [q("127.0.0.71", "zen.spamhaus.org")]: ["127.0.0.4"],
      [q("127.0.0.71", "b.barracudacentral.org")]: ["127.0.0.2"],
      // …and the domain lists.
      "listed.test.dbl.spamhaus.org": ["127.0.1.2"],
      "mx.listed.test.multi.surbl.org": ["127.0.0.72"],
      "clean.test.dbl.spamhaus.org": ["127.255.255.254"],
      "mx.clean.test.multi.surbl.org": ["127.0.0.1"],
    },
    ptr: { "127.0.0.71": ["mx.listed.test"], "127.0.0.72": ["mx.clean.test"] },
    noAnswer: { a: [LISTED, CLEAN, REFUSED, ODD, "127.0.0.71", "127.0.0.72"].map((ip) => q(ip, SILENT_ZONE)) },
  });
});

afterAll(async () => {
  await Promise.all([open?.close(), closed?.close(), misnamed?.close(), dns?.close()]);
});

const settings = (extra: Partial<Parameters<typeof checkBlocklists>[1]> = {}) => ({
  lists: selectBlocklists(undefined),
  dnsServers: [dns.address],
  queryTimeoutMs: 500,
  budgetMs: 5_000,
  ...extra,
});

/** The questions the DNS server got about names under these zones, as "name" strings. */
function askedUnder(zones: string[], since = 0): string[] {
  return dns.queries.slice(since).filter((x) => zones.some((z) => x.name.endsWith(`.${z}`))).map((x) => x.name);
}

function zonesOf(lookup: BlocklistLookup) {
  return {
    listed: lookup.listed.map((l) => l.zone),
    notListed: lookup.notListed.map((l) => l.zone),
    couldNotQuery: lookup.couldNotQuery.map((l) => `${l.zone}:${l.problem}`),
  };
}

describe("blocklist lookups through the local DNS server", () => {
  it("sorts each list's answer into listed, not listed and could not query; every question reached this server once", async () => {
    const since = dns.queries.length;
    const { addresses } = await checkBlocklists({ addresses: [LISTED, CLEAN, REFUSED, ODD] }, settings());

    const listed = addresses[LISTED]!;
    expect(zonesOf(listed).listed).toEqual(["zen.spamhaus.org", "bl.spamcop.net", "bl.mailspike.net"]);
    expect(listed.listed[0]).toEqual({
      list: "Spamhaus ZEN",
      zone: "zen.spamhaus.org",
      codes: ["127.0.0.2", "127.0.0.10"],
      meanings: ["SBL: a known spam source or spam operation", "PBL (ISP maintained): an end-user address range that should not send mail directly"],
      delistUrl: "https://check.spamhaus.org/",
    });
    expect(zonesOf(listed).couldNotQuery).toEqual([`${SILENT_ZONE}:timeout`]);

    // NXDOMAIN everywhere: not listed, except the list that never answers.
    expect(zonesOf(addresses[CLEAN]!)).toEqual({ listed: [], notListed: IPV4_ZONES.filter((z) => z !== SILENT_ZONE), couldNotQuery: [`${SILENT_ZONE}:timeout`] });

    // Spamhaus's "this resolver may not ask" is never "not listed".
    const refused = addresses[REFUSED]!;
    expect(zonesOf(refused).notListed).not.toContain("zen.spamhaus.org");
    expect(refused.couldNotQuery.find((c) => c.zone === "zen.spamhaus.org")).toMatchObject({ problem: "error-code", codes: ["127.255.255.254"], reason: expect.stringMatching(/public or shared DNS resolvers/) });

    expect(addresses[ODD]!.couldNotQuery.find((c) => c.zone === "bl.spamcop.net")).toMatchObject({ problem: "unexpected-answer", codes: ["127.0.0.3"] });

    // One question per address and IPv4 list, all of them here: none went anywhere else.
    const expected = [LISTED, CLEAN, REFUSED, ODD].flatMap((ip) => IPV4_ZONES.map((z) => q(ip, z)));
    expect(askedUnder(IPV4_ZONES, since).sort()).toEqual(expected.sort());
  });

  it("IPv6: reversed nibbles, only the lists that cover IPv6", async () => {
    const since = dns.queries.length;
    const { addresses } = await checkBlocklists({ addresses: [SIX] }, settings());
    const six = addresses[SIX]!;
    expect(six.listed).toMatchObject([{ zone: "zen.spamhaus.org", codes: ["127.0.0.3"], meanings: [expect.stringMatching(/^SBL CSS/)] }]);
    expect([...six.listed, ...six.notListed].map((l) => l.zone).sort()).toEqual([...IPV6_ZONES].sort());
    const asked = askedUnder([...IPV4_ZONES, ...IPV6_ZONES], since);
    expect(asked.sort()).toEqual(IPV6_ZONES.map((z) => `5.2.0.0.${"0.".repeat(20)}8.b.d.0.1.0.0.2.${z}`).sort());
  });

  it("domain lists: DBL and SURBL codes, their error codes, NXDOMAIN", async () => {
    const { domains } = await checkBlocklists({ domains: ["listed.test", "mx.listed.test", "clean.test", "mx.clean.test", "nowhere.test"] }, settings());
    expect(domains["listed.test"]!.listed).toMatchObject([{ zone: "dbl.spamhaus.org", meanings: ["a spam domain"] }]);
    expect(domains["mx.listed.test"]!.listed).toMatchObject([{ zone: "multi.surbl.org", meanings: ["PH: phishing", "ABUSE: spam and other abuse"] }]);
    expect(zonesOf(domains["clean.test"]!).couldNotQuery).toEqual(["dbl.spamhaus.org:error-code"]);
    expect(zonesOf(domains["mx.clean.test"]!).couldNotQuery).toEqual(["multi.surbl.org:error-code"]);
    expect(zonesOf(domains["nowhere.test"]!)).toEqual({ listed: [], notListed: DOMAIN_ZONES, couldNotQuery: [] });
  });

  it("the budget: lists that have not answered when it runs out could not be queried", async () => {
    const started = performance.now();
    const { addresses } = await checkBlocklists({ addresses: [CLEAN] }, settings({ queryTimeoutMs: 5_000, budgetMs: 300 }));
    expect(zonesOf(addresses[CLEAN]!).couldNotQuery).toEqual([`${SILENT_ZONE}:budget`]);
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it("a DNS server that is not there: every list could not be queried, none is 'not listed'", async () => {
    const { addresses } = await checkBlocklists({ addresses: [CLEAN] }, settings({ dnsServers: ["127.0.0.1:9"] }));
    const lookup = addresses[CLEAN]!;
    expect(lookup.notListed).toEqual([]);
    expect(lookup.listed).toEqual([]);
    expect(lookup.couldNotQuery).toHaveLength(IPV4_ZONES.length);
    expect(lookup.couldNotQuery.every((c) => c.problem === "dns-error" || c.problem === "timeout")).toBe(true);
  });

  it("a cancelled check cancels its lookups", async () => {
    const controller = new AbortController();
    const pending = checkBlocklists({ addresses: [CLEAN] }, settings({ queryTimeoutMs: 5_000, signal: controller.signal }));
    controller.abort();
    const lookup = (await pending).addresses[CLEAN]!;
    expect(lookup.couldNotQuery.map((c) => c.problem)).toContain("cancelled");
  });

  it("a cache: complete answers are reused, a timeout is asked again, a failing cache is a miss", async () => {
    const store = new Map<string, { value: BlocklistLookup; ttlMs: number }>();
    const cache: BlocklistCache = {
      get: async (key) => store.get(key)?.value ?? null,
      set: async (key, value, ttlMs) => void store.set(key, { value, ttlMs }),
    };
    const onlyAnswering = selectBlocklists(undefined).filter((l) => l.zone !== SILENT_ZONE);

    let since = dns.queries.length;
    const first = (await checkBlocklists({ addresses: [LISTED] }, settings({ lists: onlyAnswering, cache }))).addresses[LISTED]!;
    expect(first.cached).toBe(false);
    expect(store.size).toBe(1);
    expect([...store.values()][0]!.ttlMs).toBe(15 * 60_000);
    expect(askedUnder(IPV4_ZONES, since).length).toBeGreaterThan(0);

    since = dns.queries.length;
    const second = (await checkBlocklists({ addresses: [LISTED] }, settings({ lists: onlyAnswering, cache }))).addresses[LISTED]!;
    expect(second.cached).toBe(true);
    expect(second.checkedAt).toBe(first.checkedAt);
    expect(zonesOf(second)).toEqual(zonesOf(first));
    expect(askedUnder(IPV4_ZONES, since)).toEqual([]);

    // A different set of lists never reads the first set's answers.
    since = dns.queries.length;
    const other = (await checkBlocklists({ addresses: [LISTED] }, settings({ lists: selectBlocklists(["zen.spamhaus.org"]), cache }))).addresses[LISTED]!;
    expect(other.cached).toBe(false);
    expect(askedUnder(IPV4_ZONES, since)).toEqual([q(LISTED, "zen.spamhaus.org")]);

    // With the silent list in the set, the answers are incomplete: not remembered.
    const before = store.size;
    await checkBlocklists({ addresses: [CLEAN] }, settings({ cache }));
    expect(store.size).toBe(before);

    const broken: BlocklistCache = { get: () => Promise.reject(new Error("down")), set: () => Promise.reject(new Error("down")) };
    const fromBroken = (await checkBlocklists({ addresses: [LISTED] }, settings({ lists: onlyAnswering, cache: broken }))).addresses[LISTED]!;
    expect(zonesOf(fromBroken)).toEqual(zonesOf(first));
  });
});

describe("a whole check with blocklists", () => {
  const options = (extra = {}) => ({
    ports: [open.port],
    dnsServers: [dns.address],
    addressPolicy: loopbackPolicy([open.port]),
    timeouts: FAST_TIMEOUTS,
    blocklists: { queryTimeoutMs: 500 },
    ...extra,
  });

  it("an open relay on two lists: servers[].dnsbl, the domain lists, findings, FCrDNS facts", async () => {
    const since = dns.queries.length;
    const report = await probe(testTarget("listed.test"), options());
    const server = report.servers[0]!;
    expect(server.verdict).toBe("open-relay");
    const dnsbl = server.dnsbl!;
    expect(dnsbl.subject).toBe("127.0.0.71");
    expect(zonesOf(dnsbl)).toMatchObject({ listed: ["zen.spamhaus.org", "b.barracudacentral.org"], couldNotQuery: [`${SILENT_ZONE}:timeout`] });
    expect(dnsbl.listed[0]!.meanings).toEqual([expect.stringMatching(/^XBL/)]);
    expect(dnsbl.domains.map((d) => [d.subject, d.listed.map((l) => l.zone)])).toEqual([
      ["mx.listed.test", ["multi.surbl.org"]],
      ["listed.test", ["dbl.spamhaus.org"]],
    ]);
    expect(server.findings.map((f) => f.id)).toEqual(expect.arrayContaining(["dnsbl-listed", "dnsbl-domain-listed"]));
    expect(server.findings.find((f) => f.id === "dnsbl-listed")!.message).toMatch(/127\.0\.0\.71 is listed on 2 of \d+ DNS blocklists \(Spamhaus ZEN: XBL/);
    expect(server.names).toEqual({ heloName: "mx.listed.test", heloResolves: true, fcrdns: ["mx.listed.test"], heloMatchesPtr: true });

    // Every blocklist question of the check reached the local DNS server, once each.
    const asked = askedUnder([...IPV4_ZONES, ...DOMAIN_ZONES], since);
    expect(asked.sort()).toEqual([...IPV4_ZONES.map((z) => q("127.0.0.71", z)), ...DOMAIN_ZONES.flatMap((z) => [`mx.listed.test.${z}`, `listed.test.${z}`])].sort());
  });

  it("RELAYCHECK_DNSBLS=off: no dnsbl field, no blocklist question", async () => {
    const since = dns.queries.length;
    const report = await probe(testTarget("clean.test"), options({ blocklists: { zones: "off" } }));
    const server = report.servers[0]!;
    expect(server.verdict).toBe("not-open-relay");
    expect(server.dnsbl).toBeUndefined();
    expect(askedUnder([...IPV4_ZONES, ...DOMAIN_ZONES], since)).toEqual([]);
    expect(server.names?.heloResolves).toBe(true);
  });

  it("a HELO name that does not resolve to the address is a finding; an IP target has no domain to ask about", async () => {
    const report = await probe(misnamed.host, options({ blocklists: { zones: ["zen.spamhaus.org"] } }));
    const server = report.servers[0]!;
    expect(server.dnsbl!.domains).toEqual([]);
    expect(zonesOf(server.dnsbl!)).toEqual({ listed: [], notListed: ["zen.spamhaus.org"], couldNotQuery: [] });
    expect(server.names).toEqual({ heloName: "mx.nowhere.test", heloResolves: false, fcrdns: [], heloMatchesPtr: null });
    expect(server.findings.find((f) => f.id === "helo-name-unresolved")?.message).toMatch(/calls itself mx\.nowhere\.test, but that name does not resolve to 127\.0\.0\.73/);
  });
});
