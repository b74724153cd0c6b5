import { describe, expect, it } from "vitest";
import { checkShippedBlocklists, parseBlocklistFile } from "./blocklist-file";
import { BLOCKLISTS, DEFAULT_BLOCKLIST_ZONES, parseBlocklistSelection, selectBlocklists, type BlocklistDefinition } from "./blocklists";
import { queryName, readAnswer } from "./check-blocklists";

const list = (zone: string): BlocklistDefinition => {
  const found = BLOCKLISTS.find((l) => l.zone === zone);
  if (!found) throw new Error(`no list ${zone} in the data file`);
  return found;
};
const ok = (...addresses: string[]) => ({ ok: true as const, addresses });
const fail = (code: string) => ({ ok: false as const, code });

describe("readAnswer: what a list's answer means", () => {
  it.each([
    ["zen.spamhaus.org", ok("127.0.0.2"), { status: "listed", codes: ["127.0.0.2"] }],
    ["zen.spamhaus.org", ok("127.0.0.10", "127.0.0.4"), { status: "listed", codes: ["127.0.0.4", "127.0.0.10"] }],
    ["zen.spamhaus.org", fail("ENOTFOUND"), { status: "not-listed" }],
    ["zen.spamhaus.org", fail("ENODATA"), { status: "not-listed" }],
    // Spamhaus's "you may not ask" answers are never "not listed", even beside a listing code.
    ["zen.spamhaus.org", ok("127.255.255.254"), { status: "unanswered", problem: "error-code", codes: ["127.255.255.254"] }],
    ["zen.spamhaus.org", ok("127.255.255.252"), { status: "unanswered", problem: "error-code" }],
    ["zen.spamhaus.org", ok("127.255.255.255"), { status: "unanswered", problem: "error-code" }],
    ["zen.spamhaus.org", ok("127.0.0.2", "127.255.255.254"), { status: "unanswered", problem: "error-code" }],
    ["zen.spamhaus.org", ok("127.0.0.8"), { status: "unanswered", problem: "unexpected-answer", codes: ["127.0.0.8"] }],
    ["bl.spamcop.net", ok("192.0.2.1"), { status: "unanswered", problem: "unexpected-answer" }],
    ["bl.spamcop.net", fail("ETIMEOUT"), { status: "unanswered", problem: "timeout" }],
    ["bl.spamcop.net", fail("ESERVFAIL"), { status: "unanswered", problem: "dns-error" }],
    ["bl.spamcop.net", fail("EREFUSED"), { status: "unanswered", problem: "dns-error" }],
    ["bl.mailspike.net", ok("127.0.0.11"), { status: "listed", meanings: ["a very bad reputation (level 4)"] }],
    ["dbl.spamhaus.org", ok("127.0.1.4"), { status: "listed", meanings: ["a phishing domain"] }],
    ["dbl.spamhaus.org", ok("127.0.1.255"), { status: "unanswered", problem: "error-code" }],
    ["multi.surbl.org", ok("127.0.0.24"), { status: "listed", meanings: ["PH: phishing", "MW: malware"] }],
    ["multi.surbl.org", ok("127.0.0.1"), { status: "unanswered", problem: "error-code" }],
    ["multi.surbl.org", ok("127.0.0.2"), { status: "unanswered", problem: "unexpected-answer" }],
    ["multi.surbl.org", ok("127.0.1.8"), { status: "unanswered", problem: "unexpected-answer" }],
  ])("%s %j → %j", (zone, answer, expected) => {
    expect(readAnswer(list(zone), answer)).toMatchObject(expected);
  });

  it("gives the documented meaning of each code", () => {
    const verdict = readAnswer(list("zen.spamhaus.org"), ok("127.0.0.2", "127.0.0.11"));
    expect(verdict).toEqual({
      status: "listed",
      codes: ["127.0.0.2", "127.0.0.11"],
      meanings: ["SBL: a known spam source or spam operation", "PBL (Spamhaus maintained): an end-user address range that should not send mail directly"],
    });
  });
});

describe("queryName", () => {
  it.each([
    ["ip", "192.0.2.25", "zen.spamhaus.org", "25.2.0.192.zen.spamhaus.org"],
    ["ip", "2001:db8::25", "zen.spamhaus.org", `5.2.0.0.${"0.".repeat(20)}8.b.d.0.1.0.0.2.zen.spamhaus.org`],
    ["ip", "2001:DB8:0:0:1::", "zen.spamhaus.org", `${"0.".repeat(12)}1.0.0.0.${"0.".repeat(8)}8.b.d.0.1.0.0.2.zen.spamhaus.org`],
    ["ip", "::ffff:192.0.2.1", "x.test", `1.0.2.0.0.0.0.c.f.f.f.f.${"0.".repeat(20)}x.test`],
    ["domain", "example.com", "dbl.spamhaus.org", "example.com.dbl.spamhaus.org"],
    ["ip", "not-an-ip", "zen.spamhaus.org", null],
  ] as const)("%s %s under %s → %s", (kind, subject, zone, expected) => {
    const name = queryName(kind, subject, zone);
    expect(name).toBe(expected);
    if (name && kind === "ip" && subject.includes(":")) expect(name.split(".")).toHaveLength(32 + zone.split(".").length);
  });

  it("refuses a name that would be too long for DNS", () => {
    expect(queryName("domain", `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(40)}.example`, "dbl.spamhaus.org")).toBeNull();
  });
});

describe("the list data file", () => {
  it("loads, with the default set the issue names", () => {
    expect(() => checkShippedBlocklists()).not.toThrow();
    expect(DEFAULT_BLOCKLIST_ZONES).toEqual(
      expect.arrayContaining(["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "psbl.surriel.com", "bl.mailspike.net", "dnsbl-1.uceprotect.net", "all.s5h.net", "dbl.spamhaus.org", "multi.surbl.org"]),
    );
    expect(BLOCKLISTS.filter((l) => l.default && l.kind === "ip" && l.ipv6).length).toBeGreaterThan(0);
    for (const l of BLOCKLISTS) expect(l.delist === null || /^https?:\/\//.test(l.delist)).toBe(true);
  });

  it.each([
    [{ lists: [] }, /lists/],
    [{ lists: [{ name: "x", zone: "Bad Zone", kind: "ip", ipv4: true, ipv6: false, default: true, codes: {}, delist: null }] }, /lists\.0\.zone/],
    [{ lists: [{ name: "x", zone: "x.test", kind: "ip", ipv4: true, ipv6: false, default: true, codes: { "10.0.0.1": "no" }, delist: null }] }, /lists\.0\.codes\.10\.0\.0\.1/],
    [{ lists: [{ name: "x", zone: "x.test", kind: "ip", ipv4: true, ipv6: false, default: true, delist: null }] }, /codes or bits/],
    [{ lists: [{ name: "x", zone: "x.test", kind: "ip", ipv4: true, ipv6: false, default: true, codes: {}, delist: "javascript:alert(1)" }] }, /delist/],
    [{ lists: [{ name: "x", zone: "x.test", kind: "ip", ipv4: true, ipv6: false, default: true, codes: {}, delist: null, extra: 1 }] }, /lists\.0/],
  ])("refuses a broken file: %j", (file, message) => {
    expect(() => parseBlocklistFile(file)).toThrow(message);
  });
});

describe("choosing lists (RELAYCHECK_DNSBLS, --dnsbl)", () => {
  it.each([
    ["off", "off"],
    ["default", [...DEFAULT_BLOCKLIST_ZONES]],
    ["zen.spamhaus.org, bl.spamcop.net", ["zen.spamhaus.org", "bl.spamcop.net"]],
    ["ZEN.spamhaus.org.", ["zen.spamhaus.org"]],
    ["default bl.spameatingmonkey.net", [...DEFAULT_BLOCKLIST_ZONES, "bl.spameatingmonkey.net"]],
  ])("%j → %j", (spec, zones) => {
    expect(parseBlocklistSelection(spec)).toEqual(zones);
  });

  it("names the unknown zone and the known ones", () => {
    expect(() => parseBlocklistSelection("zen.spamhaus.org,dnsbl.example")).toThrow(/unknown blocklist zone "dnsbl\.example"; known: zen\.spamhaus\.org/);
    expect(() => parseBlocklistSelection(" , ")).toThrow(/expected blocklist zones/);
  });

  it("selects definitions in the file's order; unset means the default set", () => {
    expect(selectBlocklists(undefined).map((l) => l.zone)).toEqual(DEFAULT_BLOCKLIST_ZONES);
    expect(selectBlocklists("off")).toEqual([]);
    expect(selectBlocklists(["multi.surbl.org", "zen.spamhaus.org"]).map((l) => l.zone)).toEqual(["zen.spamhaus.org", "multi.surbl.org"]);
  });
});
