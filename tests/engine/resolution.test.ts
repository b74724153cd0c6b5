/**
 * The engine's resolution path for real, against a local DNS server: MX preference order, A and
 * AAAA of each host, PTR, implicit MX, null MX, NXDOMAIN, and an MX whose address the policy
 * refuses (reported, never connected to). Fakes for one check share a port on several loopback
 * addresses, as MX hosts share port 25.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "@/lib/probe";
import { startClosed, startOpenRelay } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { expectWellFormedCases, FAST_TIMEOUTS, loopbackPolicy, testTarget } from "./helpers";

/** Starts fakes on the same port at different addresses (a fresh port if one is taken). */
async function onOnePort(starters: ((port: number) => Promise<FakeServer>)[]): Promise<FakeServer[]> {
  for (let attempt = 0; ; attempt++) {
    const started: FakeServer[] = [];
    try {
      const [first, ...rest] = starters;
      started.push(await first!(0));
      for (const s of rest) started.push(await s(started[0]!.port));
      return started;
    } catch (error) {
      await Promise.all(started.map((f) => f.close()));
      if (attempt >= 10 || (error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    }
  }
}

let dns: LocalDnsServer;
let port: number;
let mx1: FakeServer, mx2: FakeServer, implicit: FakeServer, refusedFake: FakeServer, dual4: FakeServer, dual6: FakeServer;

beforeAll(async () => {
  const fakes = await onOnePort([
    (p) => startClosed({ host: "127.0.0.31", port: p, hostname: "mx1.two-mx.test", domains: ["two-mx.test"] }),
    (p) => startOpenRelay({ host: "127.0.0.32", port: p, hostname: "mx2.two-mx.test", domains: ["two-mx.test"] }),
    (p) => startClosed({ host: "127.0.0.33", port: p, hostname: "implicit.test", domains: ["implicit.test"] }),
    (p) => startOpenRelay({ host: "127.0.0.99", port: p, hostname: "mx.refused.test", domains: ["refused.test"] }),
    (p) => startClosed({ host: "127.0.0.34", port: p, hostname: "mx.dual.test", domains: ["dual.test"] }),
    (p) => startClosed({ host: "::1", port: p, hostname: "mx.dual.test", domains: ["dual.test"] }),
  ]);
  [mx1, mx2, implicit, refusedFake, dual4, dual6] = fakes as [FakeServer, FakeServer, FakeServer, FakeServer, FakeServer, FakeServer];
  port = mx1.port;
  dns = await startDnsServer({
    mx: {
      // Out of preference order on purpose.
      "two-mx.test": [
        { exchange: "mx2.two-mx.test", priority: 20 },
        { exchange: "mx1.two-mx.test", priority: 10 },
      ],
      "refused.test": [{ exchange: "mx.refused.test", priority: 10 }],
      "dual.test": [{ exchange: "mx.dual.test", priority: 5 }],
    },
    a: {
      "mx1.two-mx.test": ["127.0.0.31"],
      "mx2.two-mx.test": ["127.0.0.32"],
      "implicit.test": ["127.0.0.33"],
      "mx.refused.test": ["127.0.0.99"],
      "mx.dual.test": ["127.0.0.34"],
    },
    aaaa: { "mx.dual.test": ["::1"] },
    ptr: { "127.0.0.31": ["mx1.two-mx.test"], "127.0.0.33": ["implicit.test"], "127.0.0.34": ["mx.dual.test"], "::1": ["mx.dual.test"] },
    nullMx: ["nullmx.test"],
  });
});

afterAll(async () => {
  await Promise.all([mx1, mx2, implicit, refusedFake, dual4, dual6].map((f) => f?.close()));
  await dns?.close();
});

const options = (refuse: string[] = []) => ({
  ports: [port],
  dnsServers: [dns.address],
  addressPolicy: loopbackPolicy([port], refuse),
  timeouts: FAST_TIMEOUTS,
});

describe("engine resolution through a local DNS server", () => {
  it("two MX hosts: tested in preference order, each reported with its PTR; one open makes the check open", async () => {
    const report = await probe(testTarget("two-mx.test"), options());
    expect(report.resolution.mx).toEqual([
      { exchange: "mx1.two-mx.test", preference: 10 },
      { exchange: "mx2.two-mx.test", preference: 20 },
    ]);
    expect(report.resolution.implicitMx).toBe(false);
    expect(report.servers.map((s) => [s.host, s.ip, s.port, s.mxPreference])).toEqual([
      ["mx1.two-mx.test", "127.0.0.31", port, 10],
      ["mx2.two-mx.test", "127.0.0.32", port, 20],
    ]);
    const [first, second] = report.servers;
    expect(first!.ptr).toEqual(["mx1.two-mx.test"]);
    expect(first!.ptrMatches).toBe(true);
    expect(second!.ptr).toEqual([]);
    expect(first!.verdict).toBe("not-open-relay");
    expect(second!.verdict).toBe("open-relay");
    expect(report.verdict).toBe("open-relay");
    expectWellFormedCases(first!, mx1.log);
    expectWellFormedCases(second!, mx2.log);
    // The target domain is the own domain of the baseline and of the spoofed sender.
    expect(first!.baseline.ownDomain).toBe("two-mx.test");
    expect(first!.cases.find((c) => c.id === "sender-target-domain")?.mailFrom).toBe("relaycheck@two-mx.test");
    const asked = dns.queries.map((q) => `${q.type} ${q.name}`);
    expect(asked).toEqual(expect.arrayContaining(["MX two-mx.test", "A mx1.two-mx.test", "A mx2.two-mx.test", "PTR 31.0.0.127.in-addr.arpa"]));
  });

  it("no MX: the domain's own address (implicit MX)", async () => {
    const report = await probe(testTarget("implicit.test"), options());
    expect(report.resolution.implicitMx).toBe(true);
    expect(report.resolution.mx).toEqual([]);
    expect(report.servers.map((s) => [s.host, s.ip, s.mxPreference])).toEqual([["implicit.test", "127.0.0.33", null]]);
    expect(report.verdict).toBe("not-open-relay");
    expectWellFormedCases(report.servers[0]!, implicit.log);
  });

  it("A and AAAA: both addresses tested and reported separately", async () => {
    const report = await probe(testTarget("dual.test"), options());
    expect(report.servers.map((s) => [s.ip, s.family])).toEqual(
      expect.arrayContaining([
        ["127.0.0.34", 4],
        ["::1", 6],
      ]),
    );
    expect(report.servers).toHaveLength(2);
    expect(report.verdict).toBe("not-open-relay");
    expect(dual4.log.sessions.length).toBeGreaterThan(0);
    expect(dual6.log.sessions.length).toBeGreaterThan(0);
  });

  it("null MX: nothing to test, no connection", async () => {
    const report = await probe(testTarget("nullmx.test"), options());
    expect(report.resolution.nullMx).toBe(true);
    expect(report.servers).toEqual([]);
    expect(report.verdict).toBe("unreachable");
    expect(report.reason).toMatch(/null MX/);
  });

  it("NXDOMAIN: unreachable with a DNS error", async () => {
    const report = await probe(testTarget("nowhere.test"), options());
    expect(report.servers).toEqual([]);
    expect(report.verdict).toBe("unreachable");
    expect(report.resolution.errors.join(" ")).toMatch(/NXDOMAIN|does not exist/);
  });

  it("an MX at an address the policy refuses: reported in resolution.refused, never connected", async () => {
    const before = refusedFake.log.connections;
    const report = await probe(testTarget("refused.test"), options(["127.0.0.99"]));
    expect(report.resolution.refused).toEqual([{ host: "mx.refused.test", ip: "127.0.0.99", port, reason: expect.stringContaining("refused") }]);
    expect(report.servers.filter((s) => s.status !== "policy-refused")).toEqual([]);
    expect(report.verdict).toBe("unreachable");
    expect(refusedFake.log.connections).toBe(before);
  });

  it("an IP target: no MX lookup, PTR through the local server", async () => {
    const report = await probe("127.0.0.31", options());
    expect(report.target.kind).toBe("ipv4");
    expect(report.servers.map((s) => [s.host, s.ip])).toEqual([["127.0.0.31", "127.0.0.31"]]);
    expect(report.servers[0]!.ptr).toEqual(["mx1.two-mx.test"]);
    expect(report.verdict).toBe("not-open-relay");
  });
});
