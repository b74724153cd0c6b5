import { describe, expect, it } from "vitest";
import { DEFAULT_BLOCKLIST_ZONES } from "@/lib/probe/blocklists";
import { parseEnv } from "./env";

const base = { DATABASE_URL: "postgresql://u@h/db", IP_HASH_SECRET: "x".repeat(32) };

describe("RELAYCHECK_DNSBLS and RELAYCHECK_DNSBL_CACHE_SECONDS", () => {
  it.each([
    [undefined, undefined],
    ["", undefined],
    ["off", "off"],
    ["default", [...DEFAULT_BLOCKLIST_ZONES]],
    ["zen.spamhaus.org,dbl.spamhaus.org", ["zen.spamhaus.org", "dbl.spamhaus.org"]],
  ])("RELAYCHECK_DNSBLS=%j → %j", (value, zones) => {
    expect(parseEnv({ ...base, RELAYCHECK_DNSBLS: value }).RELAYCHECK_DNSBLS).toEqual(zones);
  });

  it("names an unknown zone", () => {
    expect(() => parseEnv({ ...base, RELAYCHECK_DNSBLS: "zen.spamhaus.org,rbl.example" })).toThrow(/RELAYCHECK_DNSBLS: unknown blocklist zone "rbl\.example"/);
  });

  it("keeps answers 15 minutes by default; 0 turns the cache off", () => {
    expect(parseEnv(base).RELAYCHECK_DNSBL_CACHE_SECONDS).toBe(900);
    expect(parseEnv({ ...base, RELAYCHECK_DNSBL_CACHE_SECONDS: "0" }).RELAYCHECK_DNSBL_CACHE_SECONDS).toBe(0);
    expect(() => parseEnv({ ...base, RELAYCHECK_DNSBL_CACHE_SECONDS: "-1" })).toThrow(/RELAYCHECK_DNSBL_CACHE_SECONDS/);
  });
});
