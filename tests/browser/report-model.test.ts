/**
 * The report page's pure parts, on the fixtures: control characters made visible, the
 * transcript's text form, the timeline layout, and the live view folding stream events (a
 * replayed event changes nothing).
 */
import { describe, expect, it } from "vitest";
import { visible } from "@/components/report/visible";
import { transcriptText } from "@/components/report/transcript-text";
import { buildTimeline, caseTone } from "@/components/report/timeline-model";
import { formatElapsed, inPlanOrder, plannedCaseIds } from "@/components/report/live-progress";
import { verdictChanges } from "@/components/report/HistoryTable";
import { applyEvent, initialLiveState } from "@/components/report/live-state";
import { outcomeLabel } from "@/components/report/labels";
import type { CheckHistoryItem, CheckStreamEvent } from "@/lib/checks/types";
import { closed, openRelay, running } from "./fixtures/reports";

describe("visible", () => {
  it.each([
    ["plain text", "plain text"],
    ["a\rb\nc", "a<CR>b<LF>c"],
    ["bell\u0007", "bell<BEL>"],
    ["\u001b[31mred", "<ESC>[31mred"],
    ["evil\u202Egnp.exe", "evil<U+202E>gnp.exe"],
    ["zero\u200Bwidth", "zero<U+200B>width"],
    ["\u0001", "<0x01>"],
    ["<script>", "<script>"],
  ])("%j → %j", (input, output) => {
    expect(visible(input)).toBe(output);
  });
});

describe("transcriptText", () => {
  it("prefixes each line with session, time and direction, controls made visible", () => {
    const text = transcriptText(closed.servers[0]!);
    expect(text.split("\n")[0]).toBe("# mail.example.org 203.0.113.40:25 (C: relaycheck, S: server, --: note)");
    expect(text).toMatch(/^\[s1 +\+60ms\] S: 220 mail\.example\.org ESMTP <script>alert\('owned'\)<\/script><BEL><U\+202E>gnp\.exe$/m);
    expect(text).toMatch(/^\[s1 +\+\d+ms\] C: EHLO relaycheck\.invalid$/m);
  });
});

describe("buildTimeline", () => {
  it("shows a re-checked case in its first session with what it got there", () => {
    const base = openRelay.servers[0]!;
    const c = base.cases.find((x) => x.group !== "baseline")!;
    const second = { ...base.sessions[0]!, id: 99, startedMs: 60_000, endedMs: 60_050, caseIds: [c.id] };
    const server = {
      ...base,
      sessions: [...base.sessions, second],
      cases: base.cases.map((x) =>
        x.id === c.id
          ? { ...x, session: 99, recheck: { round: 1, at: "2026-12-02T12:41:00.000Z" }, earlier: [{ round: 0, at: "2026-12-02T12:35:00.000Z", mailFrom: x.mailFrom, outcome: "tempfail" as const, stage: "rcpt" as const, reply: { code: 450, enhanced: "4.2.0", text: "Greylisted" }, session: x.session, note: null }] }
          : x,
      ),
    };
    const model = buildTimeline(server);
    const labels = (id: number) => model.rows.find((r) => r.session.id === id)!.segments.filter((s) => s.kind === "case").map((s) => s.label);
    expect(labels(c.session!)).toContain(`${c.title}: ${outcomeLabel({ ...c, outcome: "tempfail", evidence: false }).label}`);
    expect(labels(99)).toEqual([`${c.title}: ${outcomeLabel(c).label}`]);
  });

  it("lays out each session: connect, greeting, EHLO, TLS, then every case", () => {
    const server = openRelay.servers[0]!;
    const model = buildTimeline(server);
    expect(model.rows).toHaveLength(server.sessions.length);
    const first = model.rows[0]!.segments.map((s) => s.kind);
    expect(first.slice(0, 5)).toEqual(["connect", "greeting", "ehlo", "tls", "ehlo"]);
    const caseSegments = model.rows.flatMap((r) => r.segments.filter((s) => s.kind === "case"));
    expect(caseSegments).toHaveLength(server.cases.length);
    for (const row of model.rows) {
      for (const s of row.segments) {
        expect(s.end).toBeGreaterThanOrEqual(s.start);
        expect(s.end).toBeLessThanOrEqual(model.totalMs);
      }
    }
  });

  it("shows a slow greeting as a long bar", () => {
    const slow = openRelay.servers[1]!; // greets after 5.2 s
    const greeting = buildTimeline(slow).rows[0]!.segments.find((s) => s.kind === "greeting")!;
    expect(greeting.end - greeting.start).toBeGreaterThanOrEqual(5000);
  });
});

describe("live state", () => {
  const server = openRelay.servers[0]!;
  const key = `${server.ip}:${server.port}`;
  const events: CheckStreamEvent[] = [
    { type: "status", t: 0, status: "running" },
    { type: "resolved", t: 5, resolution: openRelay.resolution!, servers: [{ key, host: server.host, ip: server.ip, port: server.port }] },
    { type: "connected", t: 6, server: key, session: 1, tls: false },
    ...server.cases.slice(0, 3).map((result, i): CheckStreamEvent => ({ type: "case-result", t: 10 + i, server: key, result })),
  ];

  it("fills in cases as they arrive, once each even when replayed", () => {
    let state = initialLiveState(running);
    for (const e of [...events, ...events]) state = applyEvent(state, e);
    expect(state.status).toBe("running");
    expect(state.servers).toHaveLength(1);
    expect(state.servers[0]!.cases.map((c) => c.id)).toEqual(server.cases.slice(0, 3).map((c) => c.id));
    state = applyEvent(state, { type: "server-done", t: 50, server: key, report: server });
    expect(state.servers[0]!.report).toBe(server);
    expect(state.servers[0]!.cases).toHaveLength(server.cases.length);
    state = applyEvent(state, { type: "done", t: 60, report: { ...openRelay, schemaVersion: 1, options: openRelay.options!, startedAt: "", finishedAt: "", durationMs: 1, verdict: "open-relay", reason: "", resolution: openRelay.resolution!, servers: [server] } });
    expect(state.finished).toBe(true);
  });

  it("a wait shows the interim verdict until the follow-up's done; a reload during the wait starts from it", () => {
    const report = { ...openRelay, schemaVersion: 1, options: openRelay.options!, startedAt: "", finishedAt: "", durationMs: 1, verdict: "inconclusive" as const, reason: "greylisted", resolution: openRelay.resolution!, servers: [server] };
    const wait = { reason: "recheck" as const, until: "2026-12-02T12:41:00.000Z", round: 1, servers: [key], message: "Re-checking at 12:41 UTC (greylisting): 3 cases got a temporary refusal." };
    let state = initialLiveState(running);
    for (const e of events) state = applyEvent(state, e);
    expect(state.interim).toBeNull();
    state = applyEvent(state, { type: "waiting", t: 70, wait, report });
    expect(state).toMatchObject({ status: "waiting", waiting: wait, interim: { verdict: "inconclusive", reason: "greylisted" }, finished: false });
    expect(state.servers[0]!.report).toBe(server);
    state = applyEvent(state, { type: "resumed", t: 0, reason: "recheck", round: 1 });
    expect(state).toMatchObject({ status: "running", waiting: null, interim: { verdict: "inconclusive" } });
    state = applyEvent(state, { type: "done", t: 9, report: { ...report, verdict: "open-relay" } });
    expect(state).toMatchObject({ status: "done", finished: true, waiting: null });
    const reloaded = initialLiveState({ ...running, status: "waiting", waiting: wait, verdict: "inconclusive", reason: "greylisted" });
    expect(reloaded).toMatchObject({ status: "waiting", waiting: wait, interim: { verdict: "inconclusive", reason: "greylisted" } });
  });

  it("a failed check ends the live view with the service's message", () => {
    const state = applyEvent(initialLiveState(running), { type: "failed", t: 1, error: { code: "unavailable", message: "The worker went away." } });
    expect(state).toMatchObject({ status: "failed", finished: true, error: "The worker went away." });
  });
});

describe("outcome labels", () => {
  it("never marks a catch-all accept or a baseline accept as relaying", () => {
    expect(outcomeLabel({ outcome: "accepted", evidence: true, group: "recipient" }).tone).toBe("danger");
    expect(outcomeLabel({ outcome: "accepted", evidence: false, group: "recipient" }).label).toMatch(/not evidence/);
    expect(outcomeLabel({ outcome: "accepted", evidence: false, group: "baseline" }).tone).not.toBe("danger");
  });
});

describe("live progress", () => {
  it("plans the engine's cases for a server, in the engine's order", () => {
    // The engine's catalogue for a domain whose MX host is another name: 5 baseline, 7 sender, 13 recipient.
    const plan = plannedCaseIds({ kind: "domain", name: "example.com" }, { host: "mx1.example.com", ip: "192.0.2.25" });
    expect(plan).toHaveLength(25);
    expect(plan[0]).toBe("baseline-postmaster");
    expect(plan.indexOf("third-party")).toBeLessThan(plan.indexOf("percent-hack-ip-literal"));
    expect(new Set(plan).size).toBe(plan.length);
    // An IP target: no checked domain, so no sender spoofing it.
    expect(plannedCaseIds({ kind: "ipv4", name: "192.0.2.25" }, { host: "192.0.2.25", ip: "192.0.2.25" })).not.toContain("sender-target-domain");
  });

  it("keeps rows in the plan's order whatever order they came in; unplanned ones last", () => {
    const server = openRelay.servers[0]!;
    const plan = ["null-sender", "plain-relay", "percent-hack"];
    const came = [server.cases.find((c) => c.id === "percent-hack")!, server.cases.find((c) => c.id === "bang-path")!, server.cases.find((c) => c.id === "null-sender")!];
    expect(inPlanOrder(came, plan).map((c) => c.id)).toEqual(["null-sender", "percent-hack", "bang-path"]);
  });

  it.each([
    [0, "0:00"],
    [7_400, "0:07"],
    [125_000, "2:05"],
    [3_723_000, "1:02:03"],
  ])("%d ms elapsed → %s", (ms, text) => {
    expect(formatElapsed(ms)).toBe(text);
  });
});

describe("history", () => {
  const item = (id: string, verdict: CheckHistoryItem["verdict"], status: CheckHistoryItem["status"] = "done"): CheckHistoryItem => ({
    id, status, verdict, createdAt: "2026-11-29T10:00:00.000Z", finishedAt: null, url: `/checks/${id}`,
  });
  it("marks a check whose verdict differs from the finished check before it", () => {
    const changes = verdictChanges([item("d", null, "running"), item("c", "open-relay"), item("b", "not-open-relay"), item("a", "not-open-relay")]);
    expect([...changes]).toEqual([["c", "not-open-relay"]]);
  });
});

describe("timeline colours: one meaning each", () => {
  it.each<[Parameters<typeof caseTone>[0], string]>([
    [{ group: "recipient", outcome: "accepted", evidence: true }, "danger"],
    [{ group: "recipient", outcome: "accepted", evidence: false }, "warn"],
    [{ group: "sender", outcome: "tempfail", evidence: false }, "warn"],
    [{ group: "sender", outcome: "error", evidence: false }, "warn"],
    [{ group: "recipient", outcome: "rejected", evidence: false }, "ok"],
    [{ group: "baseline", outcome: "accepted", evidence: false }, "info"],
    [{ group: "baseline", outcome: "rejected", evidence: false }, "info"],
  ])("%j → %s", (c, tone) => {
    expect(caseTone(c)).toBe(tone);
  });

  it("session steps are all one colour, apart from every case colour", () => {
    const steps = buildTimeline(openRelay.servers[0]!).rows.flatMap((r) => r.segments.filter((s) => s.kind !== "case"));
    expect(new Set(steps.map((s) => s.tone))).toEqual(new Set(["neutral"]));
  });
});
