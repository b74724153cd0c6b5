import { describe, expect, it } from "vitest";
import { goodTls, scenario } from "../lib/advice/test-fixtures";
import type { ServerBlocklists } from "../lib/probe";
import { formatFacts } from "./format-facts";

const dnsbl: ServerBlocklists = {
  subject: "192.0.2.25",
  kind: "ip",
  listed: [{ list: "Spamhaus ZEN", zone: "zen.spamhaus.org", codes: ["127.0.0.2", "127.0.0.10"], meanings: ["SBL: a known spam source", "PBL (ISP maintained): an end-user range"], delistUrl: "https://check.spamhaus.org/" }],
  notListed: [{ list: "SpamCop", zone: "bl.spamcop.net" }],
  couldNotQuery: [{ list: "Barracuda", zone: "b.barracudacentral.org", problem: "timeout", reason: "no answer in time", codes: [] }],
  checkedAt: "2026-12-02T10:00:00.000Z",
  cached: true,
  durationMs: 3,
  domains: [
    { subject: "example.com", kind: "domain", listed: [], notListed: [{ list: "Spamhaus DBL", zone: "dbl.spamhaus.org" }], couldNotQuery: [], checkedAt: "2026-12-02T10:00:00.000Z", cached: false, durationMs: 1 },
  ],
};

describe("formatFacts", () => {
  it("prints listed on N of M, each listing with meaning and delisting page, the lists not asked", () => {
    const lines = formatFacts(scenario("postfix", {}, { ip: "192.0.2.25", dnsbl }));
    expect(lines).toEqual([
      "  Blocklists: 192.0.2.25 LISTED on 1 of 3; 1 could not be asked (answers from 2026-12-02T10:00:00.000Z)",
      "    listed: Spamhaus ZEN (zen.spamhaus.org) 127.0.0.2, 127.0.0.10: SBL: a known spam source; PBL (ISP maintained): an end-user range",
      "      delisting: https://check.spamhaus.org/",
      "    could not ask Barracuda (b.barracudacentral.org): no answer in time",
      "  Domain blocklists: example.com not listed on 1 of 1",
    ]);
  });

  it("prints the HELO name against PTR and forward lookups, and the certificate's days left", () => {
    const lines = formatFacts(
      scenario("postfix", {}, { names: { heloName: "mail.example.com", heloResolves: false, fcrdns: ["mx.example.net"], heloMatchesPtr: false }, tls: goodTls({ daysLeft: 5 }) }),
    );
    expect(lines).toEqual([
      "  Names: HELO mail.example.com does not resolve to this address; forward-confirmed PTR: mx.example.net (the HELO name is not among them)",
      "  Certificate: expires in 5 days — renew it soon",
    ]);
  });

  it("prints nothing for a report without these facts (an older report, or blocklists off)", () => {
    expect(formatFacts(scenario("postfix"))).toEqual([]);
  });
});
