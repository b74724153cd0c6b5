/**
 * The engine against real Postfix (Debian's), one closed instance and one open relay, on
 * loopback with transports that never deliver. What fakes cannot prove: the verdicts against a
 * real MTA, and that the cases are spread so no session reaches Postfix's error limits (10
 * errors → 1 s per reply, 20 → hang-up). Wall-clock time is never asserted: the proof is that
 * no session collected 10 error replies and Postfix never hung up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe, type CheckReport } from "@/lib/probe";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { postfixAvailable, startPostfix, type PostfixInstance } from "@/tests/support/postfix";
import { requireOrSkip } from "@/tests/support/require";
import { caseById, errorRepliesPerSession, expectWellFormedCases, FAST_TIMEOUTS, loopbackPolicy, onlyServer, testTarget } from "./helpers";

const available = postfixAvailable();

describe("engine against real Postfix", () => {
  let closed: PostfixInstance | undefined;
  let open: PostfixInstance | undefined;
  let dns: LocalDnsServer | undefined;
  let closedReport: CheckReport;
  let openReport: CheckReport;

  beforeAll(async () => {
    if (!available.ok) return;
    [closed, open] = await Promise.all([startPostfix({ preset: "closed" }), startPostfix({ preset: "open" })]);
    dns = await startDnsServer({
      mx: { "closed.test": [{ exchange: "mx.closed.test", priority: 10 }] },
      a: { "mx.closed.test": [closed.host], "mx.open.test": [open.host] },
      ptr: { [closed.host]: ["mx.closed.test"], [open.host]: ["mx.open.test"] },
    });
    const options = { ports: [25], dnsServers: [dns.address], addressPolicy: loopbackPolicy([25]), timeouts: FAST_TIMEOUTS };
    // The closed one by its domain (MX → A), the open one by its address.
    [closedReport, openReport] = await Promise.all([probe(testTarget("closed.test"), options), probe(open.host, options)]);
  });

  afterAll(async () => {
    await Promise.all([closed?.close(), open?.close(), dns?.close()]);
  });

  it("closed Postfix → not-open-relay, relaying refused with Relay access denied", (ctx) => {
    requireOrSkip(ctx, available);
    expect(closedReport.verdict).toBe("not-open-relay");
    const server = onlyServer(closedReport);
    expect(server.host).toBe("mx.closed.test");
    expect(server.ip).toBe(closed!.host);
    expect(server.banner).toContain("mx.closed.test ESMTP Postfix");
    expect(server.ptrMatches).toBe(true);
    expectWellFormedCases(server);
    expect(server.cases.map((c) => `${c.id}: ${c.outcome}`).filter((s) => !/: (accepted|rejected)$/.test(s))).toEqual([]);
    expect(caseById(server, "third-party")).toMatchObject({ outcome: "rejected", stage: "rcpt", reply: { code: 554, enhanced: "5.7.1" } });
    expect(server.cases.some((c) => c.reply?.text.includes("Relay access denied"))).toBe(true);
    expect(server.cases.filter((c) => c.evidence)).toEqual([]);
    expect(caseById(server, "baseline-postmaster").outcome).toBe("accepted");
  });

  it("closed Postfix → the sessions stayed under its error limits", async (ctx) => {
    requireOrSkip(ctx, available);
    const server = onlyServer(closedReport);
    const perSession = errorRepliesPerSession(server);
    expect(perSession.size).toBeGreaterThan(1);
    for (const [session, errors] of perSession) expect(errors, `session ${session}`).toBeLessThanOrEqual(9);
    expect(server.transcript.filter((l) => l.dir === "server" && l.line.startsWith("421"))).toEqual([]);
    expect(await closed!.maillog()).not.toMatch(/too many errors/);
  });

  it("open Postfix → open-relay, the plain third-party case accepted", (ctx) => {
    requireOrSkip(ctx, available);
    expect(openReport.verdict).toBe("open-relay");
    const server = onlyServer(openReport);
    expect(server.banner).toContain("mx.open.test");
    expectWellFormedCases(server);
    expect(server.cases.map((c) => `${c.id}: ${c.outcome}`).filter((s) => !/: (accepted|rejected)$/.test(s))).toEqual([]);
    expect(caseById(server, "third-party")).toMatchObject({ outcome: "accepted", stage: "rcpt", evidence: true });
  });

  it("nothing was delivered or even queued", async (ctx) => {
    requireOrSkip(ctx, available);
    for (const pf of [closed!, open!]) {
      const log = await pf.maillog();
      expect(log).not.toMatch(/status=(sent|deferred|bounced)|queued as|fatal:|panic:/);
    }
  });

  it("stock Postfix (defer_unauth_destination: 454 4.7.1) → not-open-relay, not greylisting", async (ctx) => {
    requireOrSkip(ctx, available);
    const stock = await startPostfix({
      preset: "closed",
      myhostname: "mx.stock.test",
      domain: "stock.test",
      main: { smtpd_relay_restrictions: "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination" },
    });
    try {
      const report = await probe(stock.host, { ports: [25], dnsServers: [dns!.address], addressPolicy: loopbackPolicy([25]), timeouts: FAST_TIMEOUTS });
      const server = onlyServer(report);
      expect(caseById(server, "third-party")).toMatchObject({ outcome: "tempfail", reply: { code: 454, enhanced: "4.7.1" } });
      expect(caseById(server, "third-party").note).toMatch(/defer_unauth_destination/);
      expect(report.verdict).toBe("not-open-relay");
      expect(report.reason).toMatch(/temporary policy refusal/);
    } finally {
      await stock.close();
    }
  });
});
