/**
 * The report page's pure parts, on the fixtures: control characters made visible, the
 * transcript's text form, the timeline layout, and the live view folding stream events (a
 * replayed event changes nothing).
 */
import { describe, expect, it } from "vitest";
import { visible } from "@/components/report/visible";
import { transcriptText } from "@/components/report/transcript-text";
import { buildTimeline } from "@/components/report/timeline-model";
import { applyEvent, initialLiveState } from "@/components/report/live-state";
import { outcomeLabel } from "@/components/report/labels";
import type { CheckStreamEvent } from "@/lib/checks/types";
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
