import { describe, expect, it } from "vitest";
import type { CheckReport } from "@/lib/probe/types";
import { closed, openRelay } from "@/tests/browser/fixtures/reports";
import { serializeEvent } from "./serialize-event";
import type { CheckStreamEvent, CheckWait } from "./types";

const report: CheckReport = {
  schemaVersion: openRelay.schemaVersion,
  target: openRelay.target,
  options: openRelay.options!,
  startedAt: "2026-12-01T10:00:00.000Z",
  finishedAt: "2026-12-01T10:00:04.000Z",
  durationMs: 4000,
  verdict: openRelay.verdict!,
  reason: openRelay.reason!,
  resolution: openRelay.resolution!,
  servers: openRelay.servers,
};
const server = openRelay.servers[0]!;
const wait: CheckWait = { reason: "recheck", until: "2026-12-01T10:05:00.000Z", round: 1, servers: ["192.0.2.1:25"], message: "Re-checking at 10:05 UTC." };

const events: [string, CheckStreamEvent][] = [
  ["server-done", { type: "server-done", t: 10, server: "192.0.2.1:25", report: server }],
  ["delivery", { type: "delivery", t: 11, server: "192.0.2.1:25", report: closed.servers[0]! }],
  ["done", { type: "done", t: 12, report }],
  ["waiting", { type: "waiting", t: 13, wait, report }],
  ["done without servers", { type: "done", t: 14, report: { ...report, servers: [] } }],
  ["resolved", { type: "resolved", t: 1, resolution: report.resolution, servers: [{ key: "192.0.2.1:25", host: "mx.example", ip: "192.0.2.1", port: 25 }] }],
  ["status", { type: "status", t: 0, status: "running" }],
  ["case-result", { type: "case-result", t: 5, server: "192.0.2.1:25", result: server.cases[0]! }],
];

describe("serializeEvent", () => {
  it.each(events)("%s: the text is the event's JSON", (_name, event) => {
    expect(JSON.parse(serializeEvent(event).text)).toEqual(JSON.parse(JSON.stringify(event)));
  });

  it.each(events)("%s: the pieces are its reports' and columns' JSON", (_name, event) => {
    const { servers, columns } = serializeEvent(event);
    const reports = "report" in event ? ("servers" in event.report ? event.report.servers : [event.report]) : [];
    expect(servers).toHaveLength(reports.length);
    servers.forEach((s, i) => {
      const { cases, transcript, ...rest } = reports[i]!;
      expect(s.cases).toBe(JSON.stringify(cases));
      expect(s.transcript).toBe(JSON.stringify(transcript));
      expect(JSON.parse(s.rest)).toEqual(JSON.parse(JSON.stringify(rest)));
      expect(JSON.parse(s.text)).toEqual(JSON.parse(JSON.stringify(reports[i])));
    });
    if (event.type === "done" || event.type === "waiting") {
      expect(columns.options).toBe(JSON.stringify(event.report.options));
      expect(columns.resolution).toBe(JSON.stringify(event.report.resolution));
    }
    if (event.type === "waiting") expect(columns.wait).toBe(JSON.stringify(event.wait));
    if (event.type === "resolved") expect(columns.resolution).toBe(JSON.stringify(event.resolution));
  });
});
