import { describe, expect, it } from "vitest";
import type { BlocklistLookup, ServerBlocklists } from "@/lib/probe/types";
import { adviseServer } from "./advise-server";
import { scenario } from "./test-fixtures";

const lookup = (subject: string, over: Partial<BlocklistLookup> = {}): BlocklistLookup => ({
  subject,
  kind: subject.includes(".") && !/^\d/.test(subject) ? "domain" : "ip",
  listed: [],
  notListed: [{ list: "SpamCop", zone: "bl.spamcop.net" }],
  couldNotQuery: [],
  checkedAt: "2026-12-02T10:00:00.000Z",
  cached: false,
  durationMs: 5,
  ...over,
});

const ZEN = { list: "Spamhaus ZEN", zone: "zen.spamhaus.org", codes: ["127.0.0.4"], meanings: ["XBL: a compromised host (malware, botnet, open proxy)"], delistUrl: "https://check.spamhaus.org/" };
const PBL = { ...ZEN, codes: ["127.0.0.10"], meanings: ["PBL (ISP maintained): an end-user address range that should not send mail directly"] };
const DBL = { list: "Spamhaus DBL", zone: "dbl.spamhaus.org", codes: ["127.0.1.2"], meanings: ["a spam domain"], delistUrl: "https://check.spamhaus.org/" };

const dnsbl = (over: Partial<ServerBlocklists> = {}): ServerBlocklists => ({ ...lookup("192.0.2.25"), domains: [], ...over });
const open = (d: ServerBlocklists) => scenario("postfix", { accept: ["plain-third-party"] }, { ip: "192.0.2.25", dnsbl: d });
const closed = (d: ServerBlocklists) => scenario("postfix", {}, { ip: "192.0.2.25", dnsbl: d });

describe("advice on blocklists", () => {
  it("an open relay that is listed: close the relay first, then request delisting", () => {
    const advice = adviseServer(open(dnsbl({ listed: [ZEN] })));
    const item = advice.items.find((i) => i.id === "dnsbl-listed")!;
    expect(item).toMatchObject({ severity: "critical", title: "Open relay and listed on Spamhaus ZEN: close the relay first, then request delisting" });
    expect(item.detail).toMatch(/192\.0\.2\.25 is on 1 of 2 DNS blocklists: Spamhaus ZEN \(XBL/);
    expect(item.fix!.steps[0]).toMatch(/^Close the relay first/);
    expect(item.fix!.steps).toContain("Ask Spamhaus ZEN to remove 192.0.2.25: https://check.spamhaus.org/");
    expect(item.fix!.docs).toBe("https://check.spamhaus.org/");
    // The open relay comes first; the blocklist item right after it, both critical.
    expect(advice.items.map((i) => i.id).slice(0, 1)).toEqual(["open-relay"]);
  });

  it.each([
    ["a spam listing", [ZEN], "warning", /fix the cause/],
    ["only the PBL (a policy listing)", [PBL], "info", /policy listing/],
  ] as const)("a server that is not a relay with %s", (_what, listed, severity, detail) => {
    const item = adviseServer(closed(dnsbl({ listed: [...listed] }))).items.find((i) => i.id === "dnsbl-listed")!;
    expect(item.severity).toBe(severity);
    expect(item.title).toBe("The server's address is listed on Spamhaus ZEN");
    expect(item.detail).toMatch(detail);
    expect(item.fix!.steps[0]).toMatch(/^Ask Spamhaus ZEN to remove/);
  });

  it("a listed domain name, and lists that could not be asked", () => {
    const advice = adviseServer(
      closed(
        dnsbl({
          couldNotQuery: [{ list: "Barracuda", zone: "b.barracudacentral.org", problem: "timeout", reason: "no answer in time", codes: [] }],
          domains: [lookup("example.com", { listed: [DBL], notListed: [] })],
        }),
      ),
    );
    expect(advice.items.find((i) => i.id === "dnsbl-domain-listed")).toMatchObject({ severity: "warning", title: "The name example.com is listed on Spamhaus DBL" });
    expect(advice.items.find((i) => i.id === "dnsbl-not-asked")).toMatchObject({ severity: "info", title: "1 blocklist could not be asked", detail: expect.stringMatching(/whether 192\.0\.2\.25 is on Barracuda: no answer in time/) });
    expect(advice.items.find((i) => i.id === "dnsbl-listed")).toBeUndefined();
  });

  it("the engine's blocklist findings are covered, not repeated", () => {
    const server = open(dnsbl({ listed: [ZEN] }));
    server.findings = [...server.findings, { id: "dnsbl-listed", severity: "warning", message: "192.0.2.25 is listed on 1 of 2 DNS blocklists." }];
    expect(adviseServer(server).items.filter((i) => i.id === "dnsbl-listed")).toHaveLength(1);
  });

  it("nothing without blocklist results, nothing when clean", () => {
    expect(adviseServer(scenario("postfix")).items.some((i) => i.id.startsWith("dnsbl"))).toBe(false);
    expect(adviseServer(closed(dnsbl())).items.some((i) => i.id.startsWith("dnsbl"))).toBe(false);
  });
});
