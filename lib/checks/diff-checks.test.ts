import { describe, expect, it } from "vitest";
import type { CaseOutcome, CaseResult, ServerReport, TlsInfo, Verdict } from "@/lib/probe/types";
import { diffChecks } from "./diff-checks";
import type { CheckView } from "./types";

function kase(id: string, outcome: CaseOutcome, evidence = outcome === "accepted"): CaseResult {
  return {
    id,
    title: `Case ${id}`,
    group: "recipient",
    mailFrom: "a@relaycheck.invalid",
    rcptTo: "b@relay-target.invalid",
    localScope: null,
    outcome,
    stage: "rcpt",
    reply: null,
    mailReply: null,
    evidence,
    note: null,
    session: 1,
    tls: false,
    durationMs: 1,
    attempts: 1,
  };
}

const TLS: TlsInfo = {
  mode: "starttls",
  protocol: "TLSv1.3",
  cipher: "TLS_AES_256_GCM_SHA384",
  subject: "mx.example.com",
  issuer: "R3",
  subjectAltNames: [],
  validFrom: "2026-01-01",
  validTo: "2026-04-01",
  expired: false,
  selfSigned: false,
  hostnameMatch: true,
  authorized: true,
  authorizationError: null,
  handshakeMs: 5,
};

function server(ip: string, o: { verdict?: Verdict; banner?: string; cases?: CaseResult[]; tls?: TlsInfo | null; host?: string } = {}): ServerReport {
  return {
    host: o.host ?? "mx.example.com",
    ip,
    family: 4,
    port: 25,
    mxPreference: 10,
    ptr: [],
    ptrMatches: null,
    status: "ok",
    statusDetail: null,
    verdict: o.verdict ?? "not-open-relay",
    reason: "",
    banner: o.banner ?? "mx.example.com ESMTP",
    greetingCode: 220,
    ehloName: null,
    usedHelo: false,
    extensions: [],
    pipelining: false,
    size: null,
    auth: { mechanisms: [], offeredBeforeTls: false },
    starttls: { offered: false, required: false },
    tls: o.tls ?? null,
    baseline: { sender: null, senderAccepted: true, ownDomain: null, catchAll: {} },
    cases: o.cases ?? [kase("plain", "rejected"), kase("percent", "rejected")],
    findings: [],
    timings: { connectMs: 1, greetingMs: 1, ehloMs: 1, tlsMs: null, totalMs: 3 },
    sessions: [],
    transcript: [],
    transcriptTruncated: false,
  };
}

function view(id: string, verdict: Verdict, servers: ServerReport[]): CheckView {
  return {
    id,
    status: "done",
    waiting: null,
    createdAt: "2026-12-01T10:00:00.000Z",
    startedAt: null,
    finishedAt: "2026-12-01T10:00:01.000Z",
    queuePosition: null,
    error: null,
    url: `/checks/${id}`,
    links: { self: "", events: "", html: "", history: "" },
    schemaVersion: 1,
    target: { input: "example.com", kind: "domain", name: "example.com" },
    options: null,
    verdict,
    reason: null,
    durationMs: 1,
    resolution: null,
    servers,
  };
}

const closed = view("a", "not-open-relay", [server("192.0.2.1")]);

describe("diffChecks", () => {
  it.each<[string, CheckView, Partial<ReturnType<typeof diffChecks>> & { summary?: string[] }]>([
    ["nothing changed", view("b", "not-open-relay", [server("192.0.2.1")]), { changed: false, verdict: null, cases: [], summary: ["Nothing changed."] }],
    [
      "the relay opened: verdict and a case flip",
      view("b", "open-relay", [server("192.0.2.1", { verdict: "open-relay", cases: [kase("plain", "accepted"), kase("percent", "rejected")] })]),
      {
        changed: true,
        verdict: { from: "not-open-relay", to: "open-relay" },
        serverVerdicts: [{ server: "192.0.2.1:25", host: "mx.example.com", from: "not-open-relay", to: "open-relay" }],
        cases: [{ server: "192.0.2.1:25", host: "mx.example.com", caseId: "plain", title: "Case plain", from: "rejected", to: "accepted", evidenceFrom: false, evidenceTo: true, flipped: true }],
      },
    ],
    [
      "a server appeared",
      view("b", "not-open-relay", [server("192.0.2.1"), server("192.0.2.2", { host: "mx2.example.com" })]),
      { changed: true, verdict: null, serversAdded: [{ server: "192.0.2.2:25", host: "mx2.example.com", verdict: "not-open-relay" }], serversRemoved: [] },
    ],
    ["a server disappeared", view("b", "not-open-relay", []), { changed: true, serversRemoved: [{ server: "192.0.2.1:25", host: "mx.example.com", verdict: "not-open-relay" }] }],
    [
      "rejected → tempfail is listed, not a flip",
      view("b", "not-open-relay", [server("192.0.2.1", { cases: [kase("plain", "tempfail"), kase("percent", "rejected")] })]),
      { changed: false, cases: [expect.objectContaining({ caseId: "plain", from: "rejected", to: "tempfail", flipped: false })] },
    ],
    [
      "a banner and TLS change are listed, not alert-worthy",
      view("b", "not-open-relay", [server("192.0.2.1", { banner: "mx.example.com ESMTP Postfix", tls: TLS })]),
      {
        changed: false,
        banners: [{ server: "192.0.2.1:25", host: "mx.example.com", from: "mx.example.com ESMTP", to: "mx.example.com ESMTP Postfix" }],
        tls: [{ server: "192.0.2.1:25", host: "mx.example.com", from: null, to: { protocol: "TLSv1.3", subject: "mx.example.com", issuer: "R3", validTo: "2026-04-01", error: null } }],
      },
    ],
    ["a case only one engine version has is not compared", view("b", "not-open-relay", [server("192.0.2.1", { cases: [kase("plain", "rejected"), kase("new-trick", "accepted")] })]), { changed: false, cases: [] }],
  ])("%s", (_, later, expected) => {
    expect(diffChecks(closed, later)).toMatchObject(expected);
  });

  it("says what changed in sentences, the verdict first", () => {
    const later = view("b", "open-relay", [server("192.0.2.1", { verdict: "open-relay", cases: [kase("plain", "accepted"), kase("percent", "rejected")] })]);
    expect(diffChecks(closed, later).summary).toEqual([
      "Verdict: not an open relay → open relay.",
      "mx.example.com (192.0.2.1:25): not an open relay → open relay.",
      "Case plain on mx.example.com: rejected → accepted.",
    ]);
  });

  it("names both sides", () => {
    const d = diffChecks(closed, view("b", "unreachable", []));
    expect(d.from).toEqual({ id: "a", status: "done", createdAt: closed.createdAt, finishedAt: closed.finishedAt, verdict: "not-open-relay", url: "/checks/a" });
    expect(d.to.id).toBe("b");
    expect(d.target).toBe("example.com");
  });
});
