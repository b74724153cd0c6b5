/**
 * The automatic re-check of cases that got a temporary refusal (issue 9 item 4), engine side,
 * against the scripted greylisting fake (a retry of the same sender and recipient passes once
 * `greylistDelayMs` has gone by): the plan names only the tempfailed cases of the inconclusive
 * server; the round runs only those, on the same address, under the policy, never more than 2
 * sessions at once and never DATA; the merged report keeps each case's earlier tries, numbers
 * the round's sessions after the first ones, and the verdicts are made again.
 * The real-MTA version (Postfix behind a greylisting policy service) is in tests/service.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recheckCases, recheckPlan, type ProbeEvent } from "@/lib/probe";
import { startGreylisting, startOpenRelay } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { caseById, expectNoData, expectWellFormedCases, loopbackPolicy, optionsFor, probeFake } from "./helpers";

let dns: LocalDnsServer;
const fakes: FakeServer[] = [];

beforeAll(async () => {
  dns = await startDnsServer({});
});

afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  await dns?.close();
});

async function fake(started: Promise<FakeServer>): Promise<FakeServer> {
  const f = await started;
  fakes.push(f);
  return f;
}

/** The greylisting delay of the fakes: the in-probe retry (after 50 ms) comes too early for it. */
const GREYLIST_MS = 700;
const pauseFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a re-check round", () => {
  it("turns a greylisted open relay into an open relay, running only the tempfailed cases", async () => {
    const f = await fake(startGreylisting({ relay: "open", greylistDelayMs: GREYLIST_MS }));
    const { report, server } = await probeFake(f, dns.address, { timeouts: { retryPauseMs: 50 } });
    expect(report.verdict).toBe("inconclusive");
    const tempfailed = server.cases.filter((c) => c.outcome === "tempfail").map((c) => c.id);
    expect(tempfailed).toContain("third-party");

    const plan = recheckPlan(report);
    expect(plan).toEqual([{ key: `${f.host}:${f.port}`, caseIds: tempfailed }]);
    const commandsBefore = f.log.commands.length;
    const sessionsBefore = server.sessions.length;
    await pauseFor(GREYLIST_MS);

    const events: ProbeEvent[] = [];
    const at = new Date();
    const after = await recheckCases(report, optionsFor([f.port], dns.address, { timeouts: { retryPauseMs: 50 } }), { round: 1, at }, (e) => events.push(e));
    expect(after.verdict).toBe("open-relay");
    const merged = after.servers[0]!;
    expect(merged.verdict).toBe("open-relay");
    expectWellFormedCases(merged, f.log);
    expect(f.log.maxSessionsAtOnce).toBeLessThanOrEqual(2);

    // Only the planned cases went out again: one RCPT each.
    const rcpts = f.log.commands.slice(commandsBefore).filter((c) => c.line.startsWith("RCPT TO:"));
    expect(rcpts).toHaveLength(tempfailed.length);
    // Each re-run case: the round's answer, with the first probe's try kept.
    const third = caseById(merged, "third-party");
    expect(third).toMatchObject({ outcome: "accepted", evidence: true, recheck: { round: 1, at: at.toISOString() } });
    expect(third.earlier).toHaveLength(1);
    expect(third.earlier![0]).toMatchObject({ round: 0, at: report.startedAt, outcome: "tempfail", reply: { code: 450 } });
    expect(third.session).toBeGreaterThan(sessionsBefore);
    // A case that was not re-run is as it was.
    const untouched = server.cases.find((c) => !tempfailed.includes(c.id))!;
    expect(caseById(merged, untouched.id)).toEqual(untouched);
    // The round's sessions come after the first ones, in the transcript too, after a note.
    expect(merged.sessions.slice(0, sessionsBefore)).toEqual(server.sessions);
    expect(merged.sessions.length).toBeGreaterThan(sessionsBefore);
    expect(merged.sessions.slice(sessionsBefore).every((s) => s.id > sessionsBefore)).toBe(true);
    expect(merged.transcript.slice(0, server.transcript.length)).toEqual(server.transcript);
    expect(merged.transcript[server.transcript.length]).toMatchObject({ dir: "info", line: expect.stringMatching(/^re-check round 1 at /) });
    // The events: the round's sessions numbered on, the case results carry their history, then server-done.
    const connected = events.filter((e) => e.type === "connected");
    expect(connected.length).toBeGreaterThan(0);
    expect(connected.every((e) => e.session > sessionsBefore)).toBe(true);
    const results = events.filter((e) => e.type === "case-result");
    expect(results.every((e) => e.result.earlier?.length === 1 && e.result.recheck?.round === 1)).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "server-done", report: { verdict: "open-relay" } });
    expect(events.some((e) => e.type === "done")).toBe(false);
  });

  it("turns a greylisted closed server into not an open relay; a second round keeps both earlier tries", async () => {
    const f = await fake(startGreylisting({ relay: "closed", scope: "all", greylistDelayMs: 60_000 }));
    const { report } = await probeFake(f, dns.address, { timeouts: { retryPauseMs: 50 } });
    expect(report.verdict).toBe("inconclusive");
    const options = optionsFor([f.port], dns.address, { timeouts: { retryPauseMs: 50 } });
    // Still greylisted in round 1: inconclusive, and planned again.
    const round1 = await recheckCases(report, options, { round: 1 });
    expect(round1.verdict).toBe("inconclusive");
    expect(recheckPlan(round1)).toEqual(recheckPlan(report));
    expect(caseById(round1.servers[0]!, "third-party").earlier).toHaveLength(1);

    const g = await fake(startGreylisting({ relay: "closed", scope: "all", greylistDelayMs: GREYLIST_MS }));
    const { report: first } = await probeFake(g, dns.address, { timeouts: { retryPauseMs: 50 } });
    const r1 = await recheckCases(first, optionsFor([g.port], dns.address, { timeouts: { retryPauseMs: 50 } }), { round: 1 });
    await pauseFor(GREYLIST_MS);
    const r2 = await recheckCases(r1, optionsFor([g.port], dns.address, { timeouts: { retryPauseMs: 50 } }), { round: 2 });
    expect(r2.verdict).toBe("not-open-relay");
    const third = caseById(r2.servers[0]!, "third-party");
    expect(third).toMatchObject({ outcome: "rejected", recheck: { round: 2 } });
    expect(third.earlier!.map((a) => [a.round, a.outcome])).toEqual([
      [0, "tempfail"],
      [1, "tempfail"],
    ]);
    expect(recheckPlan(r2)).toEqual([]);
    expectNoData(r2.servers[0]!, g.log);
    expect(g.log.maxSessionsAtOnce).toBeLessThanOrEqual(2);
  });

  it("plans nothing for an open relay, and leaves a server the policy now refuses as it was", async () => {
    const open = await fake(startOpenRelay());
    const { report: openReport } = await probeFake(open, dns.address);
    expect(openReport.verdict).toBe("open-relay");
    expect(recheckPlan(openReport)).toEqual([]);

    const f = await fake(startGreylisting({ relay: "open", greylistDelayMs: GREYLIST_MS }));
    const { report } = await probeFake(f, dns.address, { timeouts: { retryPauseMs: 50 } });
    expect(recheckPlan(report)).toHaveLength(1);
    const connections = f.log.connections;
    const refused = await recheckCases(report, { ...optionsFor([f.port], dns.address), addressPolicy: loopbackPolicy([f.port], [f.host]) }, { round: 1 });
    expect(refused.servers).toEqual(report.servers);
    expect(f.log.connections).toBe(connections);
  });

  it("takes the server slot, and honours the abort signal", async () => {
    const f = await fake(startGreylisting({ relay: "open", greylistDelayMs: GREYLIST_MS }));
    const { report } = await probeFake(f, dns.address, { timeouts: { retryPauseMs: 50 } });
    const slots: string[] = [];
    const controller = new AbortController();
    controller.abort();
    const after = await recheckCases(
      report,
      optionsFor([f.port], dns.address, {
        signal: controller.signal,
        acquireServerSlot: async (ip, port) => {
          slots.push(`${ip}:${port}`);
          return () => {};
        },
      }),
      { round: 1 },
    );
    // Aborted before it began: no slot taken, nothing run, the report as it was.
    expect(slots).toEqual([]);
    expect(after.servers).toEqual(report.servers);

    // Not aborted: the round takes the server's slot (the service's cap across workers) and gives it back.
    const released: string[] = [];
    await recheckCases(
      report,
      optionsFor([f.port], dns.address, {
        acquireServerSlot: async (ip, port) => {
          slots.push(`${ip}:${port}`);
          return () => void released.push(`${ip}:${port}`);
        },
      }),
      { round: 1 },
    );
    expect(slots).toEqual([`${f.host}:${f.port}`]);
    expect(released).toEqual(slots);
    expect(f.log.maxSessionsAtOnce).toBeLessThanOrEqual(2);
  });
});
