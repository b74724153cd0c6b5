import { describe, expect, it } from "vitest";
import { checkVerdict, describePace, isEvidence, outcomeOf, serverVerdict } from "./verdict";
import type { CaseResult, ServerReport } from "./types";

function c(id: string, outcome: CaseResult["outcome"], extra: Partial<CaseResult> = {}): CaseResult {
  const code = { accepted: 250, rejected: 554, tempfail: 450, error: 0, skipped: 0 }[outcome];
  return {
    id, title: id, group: "sender", mailFrom: "a@b.invalid", rcptTo: "x@outside.invalid", localScope: null,
    outcome, stage: code ? "rcpt" : null,
    reply: code ? { code, enhanced: outcome === "rejected" ? "5.7.1" : null, text: outcome === "rejected" ? "Relay access denied" : "Ok" } : null,
    mailReply: null, evidence: outcome === "accepted", note: outcome === "error" ? "no reply" : null,
    session: 1, tls: false, durationMs: 1, attempts: 1, ...extra,
  };
}
const server = (cases: CaseResult[], extra: Partial<ServerReport> = {}) => ({
  status: "ok" as const, statusDetail: null, cases,
  baseline: { sender: "a@b.invalid", senderAccepted: true, ownDomain: "example.com", catchAll: {} },
  ...extra,
});

describe("outcomeOf", () => {
  it.each([[250, "accepted"], [251, "accepted"], [252, "accepted"], [450, "tempfail"], [451, "tempfail"], [550, "rejected"], [554, "rejected"], [501, "rejected"], [530, "rejected"]] as const)(
    "%i → %s", (code, outcome) => expect(outcomeOf({ code })).toBe(outcome),
  );
});

describe("isEvidence", () => {
  const trick = { group: "recipient" as const, localScope: "mx.example.com" };
  it.each([
    ["third-party accept", { group: "sender" as const, localScope: null }, "accepted", {}, true],
    ["own domain, no catch-all", trick, "accepted", { "mx.example.com": false }, true],
    ["own domain, catch-all", trick, "accepted", { "mx.example.com": true }, false],
    ["own domain, catch-all unknown", trick, "accepted", { "mx.example.com": null }, false],
    ["own domain, never measured", trick, "accepted", {}, false],
    ["baseline", { group: "baseline" as const, localScope: null }, "accepted", {}, false],
    ["rejected", { group: "sender" as const, localScope: null }, "rejected", {}, false],
  ] as const)("%s", (_name, def, outcome, catchAll, expected) => {
    expect(isEvidence(def, outcome, catchAll)).toBe(expected);
  });
});

describe("serverVerdict", () => {
  it.each([
    { name: "all refused", cases: [c("third-party", "rejected"), c("null-sender", "rejected")], verdict: "not-open-relay", reason: /refused all 2 relay attempts.*third-party.*554 5\.7\.1 Relay access denied/ },
    { name: "one accepted", cases: [c("third-party", "rejected"), c("bang-path", "accepted", { group: "recipient" })], verdict: "open-relay", reason: /accepted 1 relay attempt .*bang-path/ },
    { name: "greylisted", cases: [c("third-party", "tempfail"), c("null-sender", "rejected")], verdict: "inconclusive", reason: /temporary failure.*third-party.*greylisting/ },
    { name: "errors", cases: [c("third-party", "error"), c("null-sender", "rejected")], verdict: "inconclusive", reason: /could not be run.*third-party/ },
    { name: "accept wins over tempfail", cases: [c("third-party", "tempfail"), c("null-sender", "accepted")], verdict: "open-relay", reason: /null-sender/ },
    {
      name: "catch-all accepts only",
      cases: [c("third-party", "rejected"), c("percent-hack-server-name", "accepted", { group: "recipient", localScope: "mx.example.com", evidence: false })],
      verdict: "inconclusive", reason: /catch-all/,
    },
    {
      name: "test domain refused as unknown",
      cases: [c("third-party", "rejected", { reply: { code: 550, enhanced: "5.1.2", text: "Domain not found" } }), c("null-sender", "rejected", { reply: { code: 550, enhanced: "5.1.2", text: "Domain not found" } })],
      verdict: "inconclusive", reason: /test recipient domain itself/,
    },
    {
      name: "Postfix defer_unauth_destination (454 4.7.1) is a refusal",
      cases: [c("third-party", "tempfail", { reply: { code: 454, enhanced: "4.7.1", text: "<x@outside.invalid>: Relay access denied" } }), c("null-sender", "rejected")],
      verdict: "not-open-relay", reason: /refused all 2 relay attempts.*454 4\.7\.1 .*Relay access denied.*1 with a temporary policy refusal/,
    },
    {
      name: "greylisting with 450 4.7.1 stays inconclusive",
      cases: [c("third-party", "tempfail", { reply: { code: 450, enhanced: "4.7.1", text: "Greylisted" } }), c("null-sender", "rejected")],
      verdict: "inconclusive", reason: /temporary failure/,
    },
    { name: "nothing ran", cases: [c("third-party", "error"), c("null-sender", "skipped")], verdict: "inconclusive", reason: /No relay case could be run/ },
    {
      name: "a sender refused temporarily at MAIL does not decide: the rest were refused",
      cases: [c("third-party", "rejected"), c("null-sender", "rejected"), c("sender-ip-literal", "tempfail", { stage: "mail", reply: { code: 450, enhanced: null, text: "Temp. resolver error" }, notRun: "sender-tempfail" })],
      verdict: "not-open-relay", reason: /refused all 2 relay attempts.*; 1 case not run because the server refused the sender temporarily at MAIL FROM \(sender-ip-literal\)/,
    },
    {
      name: "every sender refused temporarily at MAIL: nothing reached RCPT",
      cases: [c("third-party", "tempfail", { stage: "mail", notRun: "sender-tempfail" }), c("null-sender", "tempfail", { stage: "mail", notRun: "sender-tempfail" })],
      verdict: "inconclusive", reason: /refused our senders temporarily at MAIL FROM \(third-party, null-sender.*no relay case reached RCPT TO/,
    },
    {
      name: "an accept still wins over a sender refused temporarily",
      cases: [c("third-party", "tempfail", { stage: "mail", notRun: "sender-tempfail" }), c("null-sender", "accepted")],
      verdict: "open-relay", reason: /null-sender/,
    },
    {
      name: "cases left by a connection rate limit: the limit, how many, and that plain relay and null sender were refused",
      cases: [c("third-party", "rejected"), c("null-sender", "rejected"), c("bang-path", "error", { group: "recipient", notRun: "connection-limit" }), c("trailing-at", "error", { group: "recipient", notRun: "connection-limit" })],
      rateLimit: { allowed: 2, periodMs: 61_000, waitedMs: 60_000, casesNotRun: 2 },
      verdict: "inconclusive",
      reason: /^The server allows about 2 connections a minute; 2 cases not run \(bang-path, trailing-at\) within the wait budget: check again in 61 s or more\. The 2 cases that ran were refused, the plain relay and the null sender among them\.$/,
    },
    {
      name: "cases left by a connection rate limit whose period was never learned",
      cases: [c("third-party", "rejected"), c("bang-path", "error", { group: "recipient", notRun: "connection-limit" })],
      rateLimit: { allowed: 2, periodMs: null, waitedMs: 1_000, casesNotRun: 1 },
      verdict: "inconclusive", reason: /^The server accepted 2 connections, then refused new ones \(421\) for as long as we could wait; 1 case not run .*check again in a few minutes\. The one case that ran was refused\.$/,
    },
  ])("$name → $verdict", ({ cases, verdict, reason, rateLimit }) => {
    const v = serverVerdict(server(cases as CaseResult[], rateLimit ? { rateLimit } : {}));
    expect(v.verdict).toBe(verdict);
    expect(v.reason).toMatch(reason);
  });

  // Whatever branch quotes the server, its words reach the reason escaped, never raw.
  const RLO = "\u202E";
  const hostile = { text: `Relay ${RLO}deined\u2066 \u001b[2J` };
  it.each([
    { name: "refusal quoted", cases: [c("third-party", "rejected", { reply: { code: 554, enhanced: "5.7.1", ...hostile } })] },
    { name: "acceptance quoted", cases: [c("third-party", "accepted", { reply: { code: 250, enhanced: null, ...hostile } })] },
    { name: "tempfail quoted", cases: [c("third-party", "tempfail", { reply: { code: 450, enhanced: "4.7.1", ...hostile } })] },
    { name: "note quoted", cases: [c("third-party", "error", { note: `dropped: 421 ${hostile.text}` }), c("null-sender", "rejected")] },
    { name: "test domain refusal quoted", cases: [c("third-party", "rejected", { reply: { code: 550, enhanced: "5.1.2", ...hostile } })] },
    { name: "status detail quoted", cases: [], extra: { status: "greeting-rejected" as const, statusDetail: `554 ${hostile.text}` } },
  ])("$name: bidi and control characters escaped in the reason", ({ cases, extra }) => {
    const v = serverVerdict(server(cases, extra));
    expect(v.reason).toContain("\\u{202e}deined\\u{2066}");
    // eslint-disable-next-line no-control-regex
    expect(v.reason).not.toMatch(/[\u0000-\u001f\u202a-\u202e\u2066-\u2069]/);
    const check = checkVerdict([{ host: "mx.example.com", ip: "192.0.2.1", port: 25, verdict: v.verdict, reason: `${RLO}${v.reason}` }], "");
    expect(check.reason).not.toContain(RLO);
  });

  it("a server we could not talk to is unreachable", () => {
    const v = serverVerdict(server([], { status: "refused", statusDetail: "ECONNREFUSED" }));
    expect(v).toEqual({ verdict: "unreachable", reason: "Could not test the server: the connection was refused (ECONNREFUSED)." });
  });

  it("a server the check was cancelled before is inconclusive, not unreachable", () => {
    const v = serverVerdict(server([], { status: "aborted", statusDetail: "the check was cancelled before this server was tested" }));
    expect(v.verdict).toBe("inconclusive");
    expect(v.reason).toMatch(/cancelled/);
  });

  it("refusing every sender at MAIL is not a clean bill of health", () => {
    const cases = [c("third-party", "rejected", { stage: "mail" }), c("null-sender", "rejected", { stage: "mail" })];
    const v = serverVerdict(server(cases, { baseline: { sender: null, senderAccepted: false, ownDomain: null, catchAll: {} } }));
    expect(v.verdict).toBe("inconclusive");
  });

  it("baseline results never count as relaying", () => {
    const v = serverVerdict(server([c("baseline-postmaster", "accepted", { group: "baseline", evidence: false }), c("third-party", "rejected")]));
    expect(v.verdict).toBe("not-open-relay");
  });
});

describe("describePace", () => {
  it.each([
    [{ allowed: 2, periodMs: 60_400 }, "allows about 2 connections a minute"],
    [{ allowed: 1, periodMs: 4_700 }, "allows about 1 connection every 5 s"],
    [{ allowed: 5, periodMs: 600_000 }, "allows about 5 connections every 10 minutes"],
    [{ allowed: 2, periodMs: null }, "accepted 2 connections, then refused new ones (421) for as long as we could wait"],
  ] as const)("%j → %s", (limit, text) => expect(describePace(limit)).toBe(text));
});

describe("checkVerdict", () => {
  const s = (verdict: ServerReport["verdict"], host = "mx1.example.com") => ({ host, ip: "192.0.2.1", port: 25, verdict, reason: `${verdict} because` });
  it.each([
    [[s("not-open-relay"), s("open-relay", "mx2.example.com")], "open-relay", /1 of 2 servers relay\. mx2/],
    [[s("not-open-relay"), s("inconclusive")], "inconclusive", /inconclusive because/],
    [[s("not-open-relay"), s("not-open-relay")], "not-open-relay", /All 2 servers refused/],
    [[s("not-open-relay"), s("unreachable", "mx2.example.com")], "not-open-relay", /1 could not be reached: mx2/],
    [[s("unreachable"), s("unreachable")], "unreachable", /None of the 2 servers/],
    [[], "unreachable", /no servers/],
    [[s("not-open-relay")], "not-open-relay", /^mx1\.example\.com \(192\.0\.2\.1\) port 25: not-open-relay because$/],
  ] as const)("%#", (servers, verdict, reason) => {
    const v = checkVerdict([...servers], "no servers");
    expect(v.verdict).toBe(verdict);
    expect(v.reason).toMatch(reason);
  });
});
