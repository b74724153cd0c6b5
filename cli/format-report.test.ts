import { describe, expect, it } from "vitest";
import type { CheckReport, ServerReport } from "../lib/probe";
import { goodTls, scenario } from "../lib/advice/test-fixtures";
import { formatReport } from "./format-report";

const RLO = "\u202E";
const ESC = "\u001b";

function reportOf(server: ServerReport, extra: Partial<CheckReport> = {}): CheckReport {
  return {
    schemaVersion: 1,
    target: { input: "example.com", kind: "domain", name: "example.com" },
    options: { ports: [25], ehloName: "relaycheck.invalid", senderDomain: "relaycheck.invalid", recipientDomain: "relay-target.invalid" },
    startedAt: "2026-12-01T00:00:00.000Z",
    finishedAt: "2026-12-01T00:00:01.000Z",
    durationMs: 1000,
    verdict: server.verdict,
    reason: server.reason,
    resolution: { mx: [], implicitMx: true, nullMx: false, hosts: [], refused: [], errors: [], durationMs: 1 },
    servers: [server],
    ...extra,
  };
}

/**
 * A stored or hand-made report may carry a server's raw words: the terminal must never get a
 * bidi override or an escape sequence from them, whichever field they are in.
 */
describe("formatReport escapes what a server chose", () => {
  const postfix = (overrides: Partial<ServerReport>) => scenario("postfix", {}, overrides);
  it.each<[string, CheckReport]>([
    // The engine's reasons are printed when there is no summary in words: no server (DNS), or no known cause.
    ["check reason", reportOf(postfix({}), { servers: [], verdict: "unreachable", reason: `No MX ${RLO}deined` })],
    ["server reason", reportOf(scenario("postfix", { verdict: "inconclusive", reason: `refused ${RLO}deined` }))],
    ["greeting", reportOf(postfix({ banner: `mail.example.com ${RLO}ESMTP ${ESC}[2J` }))],
    ["EHLO name and extensions", reportOf(postfix({ ehloName: `mx${RLO}`, extensions: [`X${RLO}`] }))],
    ["certificate", reportOf(postfix({ tls: goodTls({ subject: `CN=${RLO}moc`, issuer: `CN=${ESC}[31m` }) }))],
    ["TLS error", reportOf(postfix({ tls: goodTls({ error: `bad ${RLO}cert` }) }))],
    ["PTR names", reportOf(postfix({ ptr: [`ptr${RLO}.example.net`], ptrMatches: false }))],
    ["a case's reply", reportOf(scenario("postfix", { reject: { ids: ["plain-third-party"], reply: { code: 554, enhanced: "5.7.1", text: `Relay ${RLO}deined` } } }))],
    ["DNS errors", reportOf(postfix({}), { resolution: { mx: [], implicitMx: false, nullMx: false, hosts: [{ host: "a.example", addresses: [], error: `x${RLO}` }], refused: [], errors: [`y${RLO}`], durationMs: 1 } })],
  ])("%s", (_name, report) => {
    const text = formatReport(report, { transcript: true, color: false });
    expect(text).toContain("\\u{202e}");
    // eslint-disable-next-line no-control-regex
    expect(formatReport(report, { transcript: false, color: false })).not.toMatch(/[\u001b\u202a-\u202e\u2066-\u2069]/);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u001b\u202a-\u202e\u2066-\u2069]/);
  });

  it("the transcript too", () => {
    const server = postfix({});
    server.transcript = [{ session: 1, t: 0, dir: "server", line: `220 ${RLO}hi ${ESC}[2J` }];
    const text = formatReport(reportOf(server), { transcript: true, color: false });
    expect(text).toContain("220 \\u{202e}hi \\x1b[2J");
  });
});
