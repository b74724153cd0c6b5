/**
 * Temporary refusals that say nothing about relaying must not leave a closed server
 * "inconclusive" (issue 9 items 1 and 2), against fakes:
 * - a 4xx at MAIL FROM for one sender variant (a resolver error for the IP-literal sender): that
 *   case is "not run", retried once, and the verdict follows the cases that reached RCPT;
 * - a 4xx at MAIL FROM for our own sender after the first session (a per-client sender rate
 *   limit): recipient tricks are retried with the null sender and decided at RCPT;
 * - greylisting that lets a retry through after a pause: an open relay behind it is found in one
 *   run; greylisting that never does stays inconclusive.
 * Every run: no DATA, never more than 2 sessions at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGreylisting, startClosed } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { caseById, expectWellFormedCases, probeFake, RECIPIENT_CASE_IDS } from "./helpers";

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

function expectPolite(f: FakeServer): void {
  expect(f.log.dataAttempts).toBe(0);
  expect(f.log.maxSessionsAtOnce).toBeGreaterThan(0);
  expect(f.log.maxSessionsAtOnce).toBeLessThanOrEqual(2);
}

describe("a 4xx at MAIL FROM", () => {
  it("for the IP-literal sender every time: that case is not run (retried once), the server is not an open relay", async () => {
    const f = await fake(
      startClosed({
        onMail: ({ sender }) => (/@\[[^\]]*\]$/.test(sender) ? { code: 450, lines: ["4.4.3 Temp. resolver error"] } : undefined),
      }),
    );
    const { report, server } = await probeFake(f, dns.address);
    expectWellFormedCases(server, f.log);
    expectPolite(f);
    expect(report.verdict).toBe("not-open-relay");
    expect(caseById(server, "sender-ip-literal")).toMatchObject({
      outcome: "tempfail",
      stage: "mail",
      notRun: "sender-tempfail",
      reply: { code: 450, enhanced: "4.4.3" },
      attempts: 2,
    });
    expect(caseById(server, "sender-ip-literal").note).toMatch(/^Not run: the server refused the sender temporarily/);
    expect(f.log.commands.filter((c) => /^MAIL FROM:<relaycheck@\[/.test(c.line))).toHaveLength(2);
    expect(report.reason).toMatch(/1 case not run because the server refused the sender temporarily at MAIL FROM \(sender-ip-literal\)/);
    expect(report.reason).toMatch(new RegExp(`^${f.host} port ${f.port}: The server refused all`));
    expect(server.cases.filter((c) => c.notRun === undefined && c.group !== "baseline" && c.outcome !== "rejected")).toEqual([]);
  });

  it("for our sender after the first session: recipient tricks are retried with the null sender and decided at RCPT", async () => {
    const f = await fake(
      startClosed({
        hostname: "mx.ratelimited-sender.test",
        onMail: ({ sender, session }) => (sender === "relaycheck@relaycheck.invalid" && session > 1 ? { code: 451, lines: ["4.7.1 Sender rate limit exceeded"] } : undefined),
      }),
    );
    const { report, server } = await probeFake(f, dns.address);
    expectWellFormedCases(server, f.log);
    expectPolite(f);
    expect(report.verdict).toBe("not-open-relay");
    const switched = server.cases.filter((c) => c.group === "recipient" && c.mailFrom === "");
    expect(switched.length).toBeGreaterThan(0);
    for (const c of switched) {
      expect(c, c.id).toMatchObject({ outcome: "rejected", stage: "rcpt", attempts: 2 });
      expect(c.note, c.id).toBe('Tried again in a later session with MAIL FROM:<>, after MAIL FROM:<relaycheck@relaycheck.invalid> got "451 4.7.1 Sender rate limit exceeded".');
    }
    for (const id of RECIPIENT_CASE_IDS) expect(caseById(server, id).notRun, id).toBeUndefined();
  });
});

describe("greylisting", () => {
  it("that lets the retry through: an open relay behind it is an open relay in one run", async () => {
    const f = await fake(startGreylisting({ relay: "open", greylistDelayMs: 50 }));
    const { report, server } = await probeFake(f, dns.address, { timeouts: { retryPauseMs: 100 } });
    expectWellFormedCases(server, f.log);
    expectPolite(f);
    expect(report.verdict).toBe("open-relay");
    expect(caseById(server, "third-party")).toMatchObject({ outcome: "accepted", evidence: true, attempts: 2 });
    expect(caseById(server, "third-party").note).toMatch(/Tried again in a later session after "450 4\.7\.1/);
  });

  it("that never lets a retry through: still inconclusive, each case tried twice", async () => {
    const f = await fake(startGreylisting());
    const { report, server } = await probeFake(f, dns.address);
    expectWellFormedCases(server, f.log);
    expectPolite(f);
    expect(report.verdict).toBe("inconclusive");
    expect(caseById(server, "third-party")).toMatchObject({ outcome: "tempfail", attempts: 2 });
  });
});
