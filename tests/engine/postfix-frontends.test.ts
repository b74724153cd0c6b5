/**
 * Real Postfix in front of which a closed server hides behind temporary refusals (issue 9):
 * - postscreen with a greet wait (a multi-line 220 with a pause inside) and its after-220 tests:
 *   a new client gets "450 4.3.2 Service currently unavailable" to every RCPT until it passed
 *   and reconnects; the probe must pass the tests (wait for the whole greeting, no pipelining
 *   unless offered, no bare LF, only SMTP) and re-run those cases in a later session → not an
 *   open relay in one run;
 * - smtpd_client_connection_rate_limit (2 per anvil_rate_time_unit, 5 s here): the probe waits
 *   for the limit without hammering, keeps to the pace it learned, and ends not-open-relay within
 *   its wait budget, or inconclusive naming the limit when the budget is too short.
 * Every run: no DATA, never more than 2 connections at once (from the engine's session timeline:
 * each session from before its connect to after its close).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { probe, type CheckReport, type ServerReport } from "@/lib/probe";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { postfixAvailable, startPostfix } from "@/tests/support/postfix";
import { requireOrSkip } from "@/tests/support/require";
import { caseById, errorRepliesPerSession, expectWellFormedCases, FAST_TIMEOUTS, loopbackPolicy, onlyServer } from "./helpers";

const available = postfixAvailable();
/** postscreen's greet wait: short, but long enough that talking early would fail the test. */
const GREET_WAIT = "1s";
/**
 * anvil's rate window when the probe is to get through (Postfix's default is 60 s): longer than
 * the first two sessions take on a loaded machine, shorter than the probe's first wait (8 s).
 */
const RATE_WINDOW_S = 5;

let dns: LocalDnsServer | undefined;

beforeAll(async () => {
  if (available.ok) dns = await startDnsServer({});
});

afterAll(async () => {
  await dns?.close();
});

/** Short, but with room for smtpd processes that start slowly on a loaded machine. */
const TIMEOUTS = { ...FAST_TIMEOUTS, connectMs: 5_000, greetingMs: 10_000, commandMs: 5_000, serverTotalMs: 60_000 };

const options = (extra: { rateLimitWaitMs?: number } = {}) => ({
  ports: [25],
  dnsServers: [dns!.address],
  addressPolicy: loopbackPolicy([25]),
  timeouts: { ...TIMEOUTS, ...extra },
});

/** The verdict's reason and the sessions, for a failure message. */
function story(report: CheckReport): string {
  const server = report.servers[0];
  return [report.reason, ...(server?.sessions ?? []).map((s) => `#${s.id} ${s.startedMs}-${s.endedMs} ms ${s.status} ${s.detail ?? ""} (${s.caseIds.length} cases)`)].join("\n");
}

/** Most sessions open at once, from the engine's own timeline. */
function mostAtOnce(server: ServerReport): number {
  const edges = server.sessions.flatMap((s) => [
    { t: s.startedMs, d: 1 },
    { t: s.endedMs, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (open += e.d));
  return most;
}

function expectNoDataAtPostfix(maillog: string): void {
  // smtpd's disconnect line counts every command it got: DATA or BDAT would show.
  expect(maillog).not.toMatch(/\b(data|bdat)=\d/);
  expect(maillog).not.toMatch(/status=(sent|deferred|bounced)|queued as/);
}

describe("closed Postfix behind postscreen (greet wait, after-220 tests)", () => {
  it("→ not-open-relay in one run: the 450 4.3.2 cases are re-run after the client passed", async (ctx) => {
    requireOrSkip(ctx, available);
    const pf = await startPostfix({ preset: "closed", myhostname: "mx.screened.test", domain: "screened.test", postscreen: { greetWait: GREET_WAIT } });
    try {
      const report = await probe(pf.host, options());
      const server = onlyServer(report);
      const maillog = await pf.maillog();
      expect(report.verdict, story(report)).toBe("not-open-relay");
      expectWellFormedCases(server);
      // The first session met postscreen: the whole greeting waited for, then 450 4.3.2.
      expect(server.banner).toContain("mx.screened.test ESMTP Postfix");
      expect(server.timings.greetingMs).toBeGreaterThanOrEqual(900);
      expect(server.transcript.some((l) => l.dir === "server" && l.line.startsWith("450 4.3.2"))).toBe(true);
      expect(maillog).toMatch(/postscreen\[\d+\]: PASS NEW \[127\.0\.0\.1\]/);
      expect(maillog).not.toMatch(/PREGREET|PIPELINING|NON-SMTP COMMAND|BARE NEWLINE/);
      // ... and every case ended with smtpd's answer.
      expect(server.cases.filter((c) => c.outcome === "tempfail" || c.outcome === "error").map((c) => `${c.id}: ${c.note}`)).toEqual([]);
      expect(caseById(server, "third-party")).toMatchObject({ outcome: "rejected", reply: { code: 554, enhanced: "5.7.1" } });
      expect(mostAtOnce(server)).toBeLessThanOrEqual(2);
      for (const [session, errors] of errorRepliesPerSession(server)) expect(errors, `session ${session}`).toBeLessThanOrEqual(9);
      expectNoDataAtPostfix(maillog);
    } finally {
      await pf.close();
    }
  });
});

describe("closed Postfix with a connection rate limit (2 connections per window)", () => {
  const rateLimited = (windowSeconds: number) =>
    startPostfix({
      preset: "closed",
      myhostname: "mx.paced.test",
      domain: "paced.test",
      main: { smtpd_client_connection_rate_limit: "2", anvil_rate_time_unit: `${windowSeconds}s` },
    });

  it("→ not-open-relay within the wait budget, without hammering: the pace is learned and kept", async (ctx) => {
    requireOrSkip(ctx, available);
    const pf = await rateLimited(RATE_WINDOW_S);
    try {
      const report = await probe(pf.host, options());
      const server = onlyServer(report);
      expect(report.verdict, story(report)).toBe("not-open-relay");
      expectWellFormedCases(server);
      expect(server.cases.filter((c) => c.outcome === "error").map((c) => `${c.id}: ${c.note}`)).toEqual([]);
      expect(server.rateLimit).toMatchObject({ allowed: 2, casesNotRun: 0 });
      expect(server.rateLimit!.periodMs).toBeGreaterThanOrEqual(RATE_WINDOW_S * 1000);
      // Refused attempts: the first, one quick retry, then waits doubling from 8 s. Once the
      // pace is known, no attempt is refused any more.
      const refused = server.sessions.filter((s) => s.status === "service-unavailable");
      expect(refused.length).toBeLessThanOrEqual(4);
      const through = server.sessions.findLast((s) => s.status === "service-unavailable")!;
      expect(server.sessions.filter((s) => s.id > through.id).every((s) => s.status !== "service-unavailable")).toBe(true);
      // Postfix logged each refusal (its log is written asynchronously: wait for the lines).
      await vi.waitFor(async () => expect(((await pf.maillog()).match(/Connection rate limit exceeded/g) ?? []).length).toBe(refused.length));
      const maillog = await pf.maillog();
      expect(mostAtOnce(server)).toBeLessThanOrEqual(2);
      for (const [session, errors] of errorRepliesPerSession(server)) expect(errors, `session ${session}`).toBeLessThanOrEqual(9);
      expectNoDataAtPostfix(maillog);
    } finally {
      await pf.close();
    }
  });

  it("with a wait budget too short → inconclusive, naming the limit, the cases not run and the refusals so far", async (ctx) => {
    requireOrSkip(ctx, available);
    const pf = await rateLimited(60);
    try {
      const report = await probe(pf.host, options({ rateLimitWaitMs: 1_000 }));
      const server = onlyServer(report);
      expect(report.verdict, story(report)).toBe("inconclusive");
      expect(server.rateLimit, story(report)).toBeDefined();
      expect(server.rateLimit).toMatchObject({ allowed: 2, periodMs: null, waitedMs: 1_000 });
      const notRun = server.cases.filter((c) => c.notRun === "connection-limit");
      expect(notRun.length).toBeGreaterThan(0);
      expect(server.rateLimit!.casesNotRun).toBe(notRun.length);
      expect(report.reason).toMatch(/^\S+ port 25: The server accepted 2 connections, then refused new ones \(421\)/);
      expect(report.reason).toContain(`${notRun.length} case${notRun.length === 1 ? "" : "s"} not run`);
      expect(report.reason).toMatch(/the plain relay and the null sender among them/);
      expect(caseById(server, "third-party").outcome).toBe("rejected");
      expect(caseById(server, "null-sender").outcome).toBe("rejected");
      expect(mostAtOnce(server)).toBeLessThanOrEqual(2);
      expectNoDataAtPostfix(await pf.maillog());
    } finally {
      await pf.close();
    }
  });
});
