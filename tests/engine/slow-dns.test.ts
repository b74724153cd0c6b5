/**
 * One slow DNS lookup must not cost the others (issue 8 item 13): a domain with two MX hosts,
 * one whose AAAA lookup never answers, and a reverse zone and host that answer slowly (as a
 * distant authoritative server does). Every other lookup keeps its own time budget: both hosts'
 * A addresses are tested and both PTR names are confirmed forward. With one shared resolver
 * whose timeout cancelled every outstanding query, the slow host's forward confirmation was
 * cancelled when the hanging AAAA ran out of time.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { probe } from "@/lib/probe";
import { startClosed } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { FAST_TIMEOUTS, loopbackPolicy, testTarget } from "./helpers";

const DNS_MS = 2_000;
/**
 * Slow but within the budget of each single lookup; two of them in a row (PTR, then its forward
 * confirmation) outlast the hanging lookup's budget.
 */
const SLOW_ANSWER_MS = 1_200;

let dns: LocalDnsServer;
let mx1: FakeServer;
let mx2: FakeServer;

beforeAll(async () => {
  mx1 = await startClosed({ host: "127.0.0.41", hostname: "mx1.slowdns.test", domains: ["slowdns.test"] });
  mx2 = await startClosed({ host: "127.0.0.42", port: mx1.port, hostname: "mx2.slowdns.test", domains: ["slowdns.test"] });
  dns = await startDnsServer({
    mx: {
      "slowdns.test": [
        { exchange: "mx1.slowdns.test", priority: 10 },
        { exchange: "mx2.slowdns.test", priority: 20 },
      ],
    },
    a: { "mx1.slowdns.test": ["127.0.0.41"], "mx2.slowdns.test": ["127.0.0.42"] },
    ptr: { "127.0.0.41": ["mx1.slowdns.test"], "127.0.0.42": ["mx2.slowdns.test"] },
    noAnswer: { aaaa: ["mx1.slowdns.test"], mx: ["hanging.test"] },
    delayMs: { "mx2.slowdns.test": SLOW_ANSWER_MS, "127.0.0.42": SLOW_ANSWER_MS },
  });
});

afterAll(async () => {
  await Promise.all([mx1?.close(), mx2?.close(), dns?.close()]);
});

describe("a DNS lookup that never answers", () => {
  it("costs only itself: both hosts' A addresses tested, both PTR names confirmed", async () => {
    const report = await probe(testTarget("slowdns.test"), {
      ports: [mx1.port],
      dnsServers: [dns.address],
      addressPolicy: loopbackPolicy([mx1.port]),
      timeouts: { ...FAST_TIMEOUTS, dnsMs: DNS_MS },
    });
    expect(dns.queries.filter((q) => q.type === "AAAA" && q.name === "mx1.slowdns.test").length).toBeGreaterThan(0);
    expect(report.resolution.hosts).toEqual([
      { host: "mx1.slowdns.test", addresses: ["127.0.0.41"], error: null },
      { host: "mx2.slowdns.test", addresses: ["127.0.0.42"], error: null },
    ]);
    expect(report.servers.map((s) => [s.host, s.ip, s.ptr, s.ptrMatches])).toEqual([
      ["mx1.slowdns.test", "127.0.0.41", ["mx1.slowdns.test"], true],
      ["mx2.slowdns.test", "127.0.0.42", ["mx2.slowdns.test"], true],
    ]);
    expect(report.servers.map((s) => s.verdict)).toEqual(["not-open-relay", "not-open-relay"]);
    expect(report.verdict).toBe("not-open-relay");
    expect(mx1.log.sessions.length).toBeGreaterThan(0);
    expect(mx2.log.sessions.length).toBeGreaterThan(0);
  });
});

describe("a check cancelled during resolution", () => {
  it("ends the lookup that never answers at once: no server, no connection", async () => {
    const controller = new AbortController();
    const running = probe(testTarget("hanging.test"), {
      ports: [mx1.port],
      dnsServers: [dns.address],
      addressPolicy: loopbackPolicy([mx1.port]),
      signal: controller.signal,
      timeouts: { ...FAST_TIMEOUTS, dnsMs: 60_000 },
    });
    await vi.waitFor(() => expect(dns.queries.some((q) => q.type === "MX" && q.name === "hanging.test")).toBe(true));
    controller.abort();
    const report = await running;
    expect(report.servers).toEqual([]);
    expect(report.resolution.errors.join(" ")).toMatch(/cancelled/);
  });
});
