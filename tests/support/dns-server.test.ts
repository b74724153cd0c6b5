import { Resolver } from "node:dns/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reverseName, startDnsServer, type LocalDnsServer } from "./dns-server";

describe("local DNS server", () => {
  let dns: LocalDnsServer;
  let resolver: Resolver;

  beforeAll(async () => {
    dns = await startDnsServer({
      // Listed out of preference order on purpose: the client sorts, not the server.
      mx: { "two-mx.test": [{ exchange: "mx2.two-mx.test", priority: 20 }, { exchange: "mx1.two-mx.test", priority: 10 }] },
      a: { "mx1.two-mx.test": ["127.0.0.31"], "mx2.two-mx.test": ["127.0.0.32"], "implicit.test": ["127.0.0.33"] },
      aaaa: { "mx1.two-mx.test": ["::1"] },
      ptr: { "127.0.0.31": ["mx1.two-mx.test"], "::1": ["localhost6.test"] },
      nullMx: ["nullmx.test"],
      noAnswer: { aaaa: ["mx2.two-mx.test"] },
      delayMs: { "implicit.test": 100 },
    });
    resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([dns.address]);
  });

  afterAll(async () => {
    await dns?.close();
  });

  it("listens on loopback", () => {
    expect(dns.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("answers MX, A, AAAA", async () => {
    // Node 24 adds `type: "MX"` to each record: compare the fields that matter.
    const mx = (await resolver.resolveMx("two-mx.test")).map(({ exchange, priority }) => ({ exchange, priority }));
    expect(mx.sort((a, b) => a.priority - b.priority)).toEqual([
      { exchange: "mx1.two-mx.test", priority: 10 },
      { exchange: "mx2.two-mx.test", priority: 20 },
    ]);
    expect(await resolver.resolve4("mx1.two-mx.test")).toEqual(["127.0.0.31"]);
    expect(await resolver.resolve4("MX2.two-mx.test.")).toEqual(["127.0.0.32"]);
    expect(await resolver.resolve6("mx1.two-mx.test")).toEqual(["::1"]);
  });

  it("answers PTR for IPv4 and IPv6 from the ip keys", async () => {
    expect(reverseName("127.0.0.31")).toBe("31.0.0.127.in-addr.arpa");
    expect(reverseName("::1")).toBe(`1.${"0.".repeat(31)}ip6.arpa`);
    expect(await resolver.reverse("127.0.0.31")).toEqual(["mx1.two-mx.test"]);
    expect(await resolver.reverse("::1")).toEqual(["localhost6.test"]);
  });

  it("serves a null MX", async () => {
    expect((await resolver.resolveMx("nullmx.test")).map(({ exchange, priority }) => ({ exchange, priority }))).toEqual([{ exchange: "", priority: 0 }]);
  });

  it("says NODATA for a known name without that type, NXDOMAIN for an unknown one", async () => {
    await expect(resolver.resolveMx("implicit.test")).rejects.toMatchObject({ code: "ENODATA" });
    await expect(resolver.resolveMx("mx2.two-mx.test")).rejects.toMatchObject({ code: "ENODATA" });
    await expect(resolver.resolve4("nowhere.test")).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(resolver.reverse("127.0.0.99")).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("answers over TCP on the same port", async () => {
    const { default: dns2 } = await import("dns2");
    const client = dns2.TCPClient({ dns: "127.0.0.1", port: dns.port });
    const res = await client("mx1.two-mx.test", "A");
    expect(res.answers.map((a) => a.address)).toEqual(["127.0.0.31"]);
    expect(dns.queries.some((q) => q.transport === "tcp" && q.name === "mx1.two-mx.test")).toBe(true);
  });

  it("never answers a `noAnswer` question (the client times out), and still logs it", async () => {
    await expect(resolver.resolve6("mx2.two-mx.test")).rejects.toMatchObject({ code: "ETIMEOUT" });
    expect(dns.queries.some((q) => q.type === "AAAA" && q.name === "mx2.two-mx.test")).toBe(true);
    expect(await resolver.resolve4("mx2.two-mx.test")).toEqual(["127.0.0.32"]);
  });

  it("holds the answers about a `delayMs` name", async () => {
    const started = performance.now();
    expect(await resolver.resolve4("implicit.test")).toEqual(["127.0.0.33"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });
});
