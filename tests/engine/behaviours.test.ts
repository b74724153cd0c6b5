/**
 * The engine end to end against fake SMTP servers, one per behaviour of issue 2: the verdict,
 * each case's outcome and evidence, and that no DATA ever reaches a server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLibrarySmtp } from "@/tests/fakes/library-smtp";
import {
  SCRIPT_BANNER,
  startCatchAll,
  startClosed,
  startDelayedGreeting,
  startDropAfterErrors,
  startGreylisting,
  startHeloOnly,
  startOpenRelay,
  startScriptBanner,
  startSingleConnection,
  startStartTlsRequired,
  startTarpit,
  startTrickVulnerable,
} from "@/tests/fakes/presets";
import { startScriptedSmtp } from "@/tests/fakes/scripted-smtp";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { caseById, errorRepliesPerSession, evidenceIds, expectWellFormedCases, hasControlCharacters, probeFake, RECIPIENT_CASE_IDS, TRICK_CASE_IDS } from "./helpers";

let dns: LocalDnsServer;
const fakes: FakeServer[] = [];

beforeAll(async () => {
  // Every fake listens on 127.0.0.1; PTR lookups of it go here, never to the system resolver.
  dns = await startDnsServer({ ptr: { "127.0.0.1": ["localhost.test"] }, a: { "localhost.test": ["127.0.0.1"] } });
});

afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  await dns?.close();
});

async function fake<T extends FakeServer>(started: Promise<T>): Promise<T> {
  const f = await started;
  fakes.push(f);
  return f;
}

describe("engine against fake servers", () => {
  it("open relay → open-relay, the plain third-party case is the evidence", async () => {
    const f = await fake(startOpenRelay());
    const { report, server, events } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("open-relay");
    expect(server.verdict).toBe("open-relay");
    expect(server.status).toBe("ok");
    expectWellFormedCases(server, f.log);
    const third = caseById(server, "third-party");
    expect(third).toMatchObject({ outcome: "accepted", stage: "rcpt", evidence: true, rcptTo: "relaytest@relay-target.invalid", mailFrom: "relaycheck@relaycheck.invalid" });
    expect(report.reason).toContain("third-party");
    expect(events[0]).toBe("resolved");
    expect(events.at(-1)).toBe("done");
    expect(events).toEqual(expect.arrayContaining(["connected", "reply", "case-result", "server-done"]));
  });

  it("closed → not-open-relay, relaying refused at RCPT with 554 5.7.1", async () => {
    const f = await fake(startClosed());
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("not-open-relay");
    expectWellFormedCases(server, f.log);
    expect(evidenceIds(server)).toEqual([]);
    expect(caseById(server, "third-party")).toMatchObject({ outcome: "rejected", stage: "rcpt", reply: { code: 554, enhanced: "5.7.1" } });
    expect(caseById(server, "baseline-postmaster").outcome).toBe("accepted");
    expect(server.baseline.senderAccepted).toBe(true);
    expect(Object.values(server.baseline.catchAll).every((v) => v === false)).toBe(true);
    expect(server.cases.filter((c) => c.group !== "baseline" && c.outcome !== "rejected")).toEqual([]);
  });

  it("catch-all → not an open relay: own-domain tricks accepted without evidence, verdict inconclusive", async () => {
    const f = await fake(startCatchAll());
    const { report, server } = await probeFake(f, dns.address);
    expectWellFormedCases(server, f.log);
    expect(report.verdict).not.toBe("open-relay");
    expect(evidenceIds(server)).toEqual([]);
    expect(caseById(server, "third-party").outcome).toBe("rejected");
    const accepted = server.cases.filter((c) => c.group !== "baseline" && c.outcome === "accepted");
    expect(accepted.length).toBeGreaterThan(0);
    for (const c of accepted) {
      expect(c.localScope, c.id).not.toBeNull();
      expect(c.evidence, c.id).toBe(false);
      expect(server.baseline.catchAll[c.localScope!], c.id).toBe(true);
    }
    // The lead's rule: accepts that only a catch-all explains leave the question open.
    expect(report.verdict).toBe("inconclusive");
    expect(report.reason).toMatch(/catch-all/);
  });

  it("trick-vulnerable → open-relay through the %, ! and @@ forms, not the plain form", async () => {
    const f = await fake(startTrickVulnerable());
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("open-relay");
    expectWellFormedCases(server, f.log);
    expect(caseById(server, "third-party").outcome).toBe("rejected");
    for (const id of TRICK_CASE_IDS) {
      expect(caseById(server, id), id).toMatchObject({ outcome: "accepted", stage: "rcpt", evidence: true });
    }
    for (const id of ["source-route-ip-literal", "source-route-server-name"]) expect(caseById(server, id).outcome, id).toBe("rejected");
    // Each trick went with the sender the server accepted, so it proves what its title says.
    for (const id of RECIPIENT_CASE_IDS) expect(caseById(server, id).mailFrom, id).toBe("relaycheck@relaycheck.invalid");
  });

  it("greylisting of third parties → inconclusive, the relay cases are tempfail", async () => {
    const f = await fake(startGreylisting());
    const { report, server } = await probeFake(f, dns.address);
    expectWellFormedCases(server, f.log);
    expect(report.verdict).toBe("inconclusive");
    expect(caseById(server, "third-party")).toMatchObject({ outcome: "tempfail", reply: { code: 450, enhanced: "4.7.1" } });
    expect(evidenceIds(server)).toEqual([]);
    expect(report.reason).toMatch(/temporary|greylist/i);
  });

  it("greylisting of every recipient → inconclusive", async () => {
    const f = await fake(startGreylisting({ scope: "all" }));
    const { report, server } = await probeFake(f, dns.address);
    expectWellFormedCases(server, f.log);
    expect(report.verdict).toBe("inconclusive");
    expect(caseById(server, "baseline-postmaster").outcome).toBe("tempfail");
  });

  it("a greeting delayed 1.5 s (multi-line) → still runs, not-open-relay", async () => {
    const f = await fake(startDelayedGreeting({ delayMs: 1_500, multiline: true }));
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("not-open-relay");
    expectWellFormedCases(server, f.log);
    expect(server.greetingCode).toBe(220);
    expect(server.banner?.split("\n")).toHaveLength(3);
    expect(server.timings.greetingMs).toBeGreaterThanOrEqual(1_000);
    expect(server.cases.filter((c) => c.outcome === "error")).toEqual([]);
  });

  it("STARTTLS required, closed after TLS → upgrades and gets not-open-relay", async () => {
    const f = await fake(startStartTlsRequired({ afterTls: "closed" }));
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("not-open-relay");
    expectWellFormedCases(server, f.log);
    expect(server.starttls.offered).toBe(true);
    expect(server.tls).not.toBeNull();
    expect(server.tls?.protocol).toMatch(/^TLS/);
    for (const c of server.cases.filter((x) => x.outcome !== "skipped")) expect(c.tls, c.id).toBe(true);
    expect(caseById(server, "third-party")).toMatchObject({ outcome: "rejected", reply: { code: 554 } });
  });

  it("STARTTLS required, open after TLS → open-relay (even with starttls: never)", async () => {
    const f = await fake(startStartTlsRequired({ afterTls: "open" }));
    const auto = await probeFake(f, dns.address);
    expect(auto.report.verdict).toBe("open-relay");
    expectWellFormedCases(auto.server, f.log);
    expect(caseById(auto.server, "third-party")).toMatchObject({ outcome: "accepted", evidence: true, tls: true });
    // "never" stays in plaintext unless the server demands TLS; this one demands it with 530.
    const never = await probeFake(f, dns.address, { starttls: "never" });
    expect(never.report.verdict).toBe("open-relay");
    expect(never.server.starttls.required).toBe(true);
  });

  it("drops after 3 errors, refuses IP-literal senders (Exim-like) → reconnects, no case left in error", async () => {
    const f = await fake(startDropAfterErrors());
    const { report, server } = await probeFake(f, dns.address);
    expectWellFormedCases(server, f.log);
    expect(report.verdict).toBe("not-open-relay");
    expect(server.cases.filter((c) => c.outcome === "error").map((c) => `${c.id}: ${c.note}`)).toEqual([]);
    expect(caseById(server, "sender-ip-literal")).toMatchObject({ outcome: "rejected", stage: "mail", reply: { code: 501 } });
    expect(f.log.sessions.length).toBeGreaterThan(1);
    expect(server.sessions.length).toBe(f.log.sessions.length);
  });

  it("tarpit after 10 errors (Postfix-like) → stays under the threshold by spreading cases over sessions", async () => {
    const f = await fake(startTarpit({ softLimit: 10, hardLimit: 20, sleepMs: 250 }));
    const { report, server } = await probeFake(f, dns.address);
    expectWellFormedCases(server, f.log);
    expect(report.verdict).toBe("not-open-relay");
    expect(f.log.tarpitted).toBe(0);
    expect(f.log.sessions.map((s) => s.errors).every((n) => n < 10)).toBe(true);
    expect([...errorRepliesPerSession(server).values()].every((n) => n <= 9)).toBe(true);
    expect(server.sessions.length).toBeGreaterThan(1);
    expect(server.cases.filter((c) => c.outcome === "error")).toEqual([]);
  });

  it("HELO only → falls back to HELO, closed", async () => {
    const f = await fake(startHeloOnly());
    const { report, server } = await probeFake(f, dns.address);
    expectWellFormedCases(server, f.log);
    expect(server.usedHelo).toBe(true);
    expect(report.verdict).toBe("not-open-relay");
    expect(f.log.commands.some((c) => c.line.startsWith("HELO "))).toBe(true);
  });

  it("HELO only, open → open-relay", async () => {
    const f = await fake(startHeloOnly({ relay: "open" }));
    const { report, server } = await probeFake(f, dns.address);
    expect(server.usedHelo).toBe(true);
    expect(report.verdict).toBe("open-relay");
  });

  it("421 on a second connection → one session at a time, no case in error", async () => {
    const f = await fake(startSingleConnection());
    const { report, server } = await probeFake(f, dns.address, { limits: { maxParallelSessions: 3 } });
    expectWellFormedCases(server, f.log);
    expect(report.verdict).toBe("not-open-relay");
    expect(server.cases.filter((c) => c.outcome === "error").map((c) => `${c.id}: ${c.note}`)).toEqual([]);
    // After a refusal the engine must not keep opening parallel connections.
    expect(f.log.refusedConnections).toBeLessThanOrEqual(2);
  });

  it("a one-connection server that frees its slot late after QUIT → backs off and retries, no case in error", async () => {
    const f = await fake(startSingleConnection({ slotReleaseDelayMs: 150 }));
    const { report, server } = await probeFake(f, dns.address);
    expect(f.log.refusedConnections).toBeGreaterThan(0); // the race really happened
    expect(report.verdict).toBe("not-open-relay");
    expect(server.cases.filter((c) => c.outcome === "error").map((c) => `${c.id}: ${c.note}`)).toEqual([]);
  });

  it("a banner with <script> → kept as text, verbatim", async () => {
    const f = await fake(startScriptBanner());
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("not-open-relay");
    expect(server.banner).toBe(SCRIPT_BANNER);
    expect(server.transcript.some((l) => l.dir === "server" && l.line === `220 ${SCRIPT_BANNER}`)).toBe(true);
    expect(JSON.stringify(report)).toContain("<script>alert(1)</script>");
  });

  it("binary and invalid UTF-8 in a banner → still a string report, right verdict", async () => {
    const junk = "mx.junk.test ESMTP \u00ff\u00fe\u001b[2J\u0007 \u00c3\u0028 end";
    const f = await fake(startScriptedSmtp({ hostname: "mx.junk.test", domains: ["junk.test"], greeting: [junk], policy: "closed" }));
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("not-open-relay");
    expect(typeof server.banner).toBe("string");
    expect(server.banner).toContain("mx.junk.test ESMTP");
    expect(server.banner).toContain("end");
    // Control characters are made visible, not passed through.
    expect(hasControlCharacters(server.banner ?? "")).toBe(false);
  });

  it("a 554 carrying a bidi override (U+202E) → the reason quotes it escaped; no raw U+202E anywhere in the report", async () => {
    const RLO = "\u202E";
    // The fake writes latin1: the override goes out as its UTF-8 bytes, as a real server's would.
    const wire = (text: string) => Buffer.from(text, "utf8").toString("latin1");
    const f = await fake(
      startScriptedSmtp({
        hostname: "mx.bidi.test",
        domains: ["bidi.test"],
        policy: ({ rcpt, users }) => {
          if (rcpt.ownDomain) return users.includes(rcpt.local.toLowerCase()) ? { code: 250, lines: ["2.1.5 Ok"] } : { code: 550, lines: ["5.1.1 User unknown"] };
          return { code: 554, lines: [wire(`5.7.1 Relaying ${RLO}deined${"\u2066"} for you`)] };
        },
      }),
    );
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("not-open-relay");
    expect(caseById(server, "third-party").reply).toMatchObject({ code: 554, enhanced: "5.7.1" });
    expect(report.reason).toContain('"554 5.7.1 Relaying \\u{202e}deined\\u{2066} for you"');
    expect(server.transcript.some((l) => l.line === "554 5.7.1 Relaying \\u{202e}deined\\u{2066} for you")).toBe(true);
    expect(JSON.stringify(report)).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  });

  it("the listed cases go out byte for byte", async () => {
    const f = await fake(startClosed({ hostname: "mx.bytes.test", domains: ["bytes.test"] }));
    const { server } = await probeFake(f, dns.address);
    const ip = f.host;
    const expected: Record<string, [string, string]> = {
      "third-party": ["relaycheck@relaycheck.invalid", "relaytest@relay-target.invalid"],
      "null-sender": ["", "relaytest@relay-target.invalid"],
      "sender-ip-literal": [`relaycheck@[${ip}]`, "relaytest@relay-target.invalid"],
      "percent-hack-ip-literal": ["relaycheck@relaycheck.invalid", `relaytest%relay-target.invalid@[${ip}]`],
      "bang-path": ["relaycheck@relaycheck.invalid", "relay-target.invalid!relaytest"],
      "double-at-server-name": ["relaycheck@relaycheck.invalid", "relaytest@relay-target.invalid@mx.bytes.test"],
      "source-route-ip-literal": ["relaycheck@relaycheck.invalid", `@[${ip}]:relaytest@relay-target.invalid`],
    };
    for (const [id, [from, to]] of Object.entries(expected)) {
      expect(caseById(server, id), id).toMatchObject({ mailFrom: from, rcptTo: to });
    }
    expectWellFormedCases(server, f.log);
  });
});

describe("engine against smtp-server (a third-party implementation)", () => {
  it("open → open-relay", async () => {
    const f = await fake(startLibrarySmtp({ policy: "open", hostname: "mx.lib.test", domains: ["lib.test"] }));
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("open-relay");
    expectWellFormedCases(server, f.log);
  });

  it("closed → not-open-relay", async () => {
    const f = await fake(startLibrarySmtp({ policy: "closed", hostname: "mx.lib.test", domains: ["lib.test"] }));
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("not-open-relay");
    expectWellFormedCases(server, f.log);
    expect(evidenceIds(server)).toEqual([]);
  });

  it("catch-all → not open-relay", async () => {
    const f = await fake(startLibrarySmtp({ policy: "catch-all", hostname: "mx.lib.test", domains: ["lib.test"] }));
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).not.toBe("open-relay");
    expect(evidenceIds(server)).toEqual([]);
    expectWellFormedCases(server, f.log);
  });

  it("greylisting → inconclusive", async () => {
    const f = await fake(startLibrarySmtp({ policy: "greylist", hostname: "mx.lib.test", domains: ["lib.test"] }));
    const { report } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("inconclusive");
  });

  it("STARTTLS required, open after TLS → open-relay over TLS", async () => {
    const f = await fake(startLibrarySmtp({ policy: "open", starttls: "required", hostname: "mx.lib.test", domains: ["lib.test"] }));
    const { report, server } = await probeFake(f, dns.address);
    expect(report.verdict).toBe("open-relay");
    expect(caseById(server, "third-party").tls).toBe(true);
    expectWellFormedCases(server, f.log);
  });
});
