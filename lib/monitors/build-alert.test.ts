import { describe, expect, it } from "vitest";
import type { CheckDiff } from "@/lib/checks/diff-checks";
import { alertEmailOf, buildAlertPayload } from "./build-alert";

const monitor = { id: "M".repeat(22), target: "mail.example.org", ports: [25], intervalSeconds: 86_400 };
const diff = {
  changed: true,
  verdict: { from: "not-open-relay", to: "open-relay" },
  summary: ["Verdict: not an open relay → open relay.", "Bad\u202Ename on mx\u0007.example.org: rejected → accepted."],
} as unknown as CheckDiff;

describe("alerts", () => {
  const payload = buildAlertPayload({
    deliveryId: "D".repeat(22),
    kind: "change",
    monitor,
    check: { id: "c2", verdict: "open-relay", finishedAt: "2026-12-03T10:00:00.000Z" },
    previousCheck: { id: "c1", verdict: "not-open-relay", finishedAt: "2026-12-02T10:00:00.000Z" },
    diff,
    publicUrl: "https://relaycheck.example",
    now: new Date("2026-12-03T10:00:01.000Z"),
  });

  it("links to reports and the monitor under PUBLIC_URL", () => {
    expect(payload).toMatchObject({
      type: "monitor.changed",
      createdAt: "2026-12-03T10:00:01.000Z",
      monitor: { url: `https://relaycheck.example/api/v1/monitors/${monitor.id}`, interval: 86_400 },
      check: { url: "https://relaycheck.example/checks/c2" },
      previousCheck: { url: "https://relaycheck.example/checks/c1" },
      summary: diff.summary,
    });
  });

  it("writes an email with the change in its subject, server words escaped", () => {
    const email = alertEmailOf(payload);
    expect(email.subject).toBe("[relaycheck] mail.example.org: not an open relay → open relay");
    expect(email.text).toContain("- Bad\\u{202e}name on mx\\x07.example.org: rejected → accepted.");
    expect(email.text).toContain("Report: https://relaycheck.example/checks/c2");
    expect(email.text).toContain("(every day)");
    expect(email.text.includes("\u0007") || email.text.includes("\u202E")).toBe(false);
  });

  it("words a test as a test", () => {
    const test = buildAlertPayload({ deliveryId: "t", kind: "test", monitor, check: null, previousCheck: null, diff: null, publicUrl: "https://x.example" });
    expect(test).toMatchObject({ type: "monitor.test", check: null, diff: null, summary: ["This is a test alert of the monitor of mail.example.org.", "It has not checked yet."] });
    expect(alertEmailOf(test).subject).toBe("[relaycheck] Test alert for mail.example.org");
  });
});
