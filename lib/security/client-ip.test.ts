import { describe, expect, it } from "vitest";
import { clientBucket, FORWARDED_FOR_HEADER, getClientBucket, getClientIp, hashClientIp, hasPeerAddress, normalizeIp, PEER_HEADER } from "./client-ip";

const h = (o: Record<string, string>) => new Headers(o);
const XFF = "x-forwarded-for";

describe("getClientIp", () => {
  it.each<[string, Record<string, string>, number, string]>([
    // Behind serve-web: the socket peer, and X-Forwarded-For only as far as TRUST_PROXY says.
    ["peer, no proxy trusted: X-Forwarded-For ignored", { [PEER_HEADER]: "::ffff:203.0.113.5", [FORWARDED_FOR_HEADER]: "1.2.3.4" }, 0, "203.0.113.5"],
    ["one trusted proxy", { [PEER_HEADER]: "10.0.0.2", [FORWARDED_FOR_HEADER]: "6.6.6.6, 198.51.100.9, 10.0.0.1" }, 1, "10.0.0.1"],
    ["two trusted proxies", { [PEER_HEADER]: "10.0.0.2", [FORWARDED_FOR_HEADER]: "6.6.6.6, 198.51.100.9, 10.0.0.1" }, 2, "198.51.100.9"],
    ["a client cannot push itself past the chain's start", { [PEER_HEADER]: "10.0.0.2", [FORWARDED_FOR_HEADER]: "6.6.6.6, 198.51.100.9, 10.0.0.1" }, 9, "6.6.6.6"],
    ["Next's own X-Forwarded-For is not ours when the peer header is there", { [PEER_HEADER]: "192.0.2.7", [XFF]: "6.6.6.6" }, 1, "192.0.2.7"],
    ["an entry that is not an IP", { [PEER_HEADER]: "10.0.0.2", [FORWARDED_FOR_HEADER]: "<script>" }, 1, "unknown"],
    ["an empty peer", { [PEER_HEADER]: "" }, 0, "unknown"],
    // Without serve-web (plain `next start` / `next dev`): fail closed.
    ["no peer, no proxy trusted: a client's X-Forwarded-For is never believed", { [XFF]: "198.51.100.77" }, 0, "unknown"],
    ["no peer, no proxy trusted, a chain", { [XFF]: "6.6.6.6, 198.51.100.77" }, 0, "unknown"],
    ["no peer, one trusted proxy: the entry it appended", { [XFF]: "6.6.6.6, 198.51.100.77" }, 1, "198.51.100.77"],
    ["no peer, two trusted proxies", { [XFF]: "6.6.6.6, 198.51.100.77, 10.0.0.1" }, 2, "198.51.100.77"],
    ["no peer, proxy trusted but no header at all", {}, 1, "unknown"],
    ["nothing at all", {}, 0, "unknown"],
  ])("%s", (_name, headers, trustedProxies, expected) => {
    expect(getClientIp(h(headers), trustedProxies)).toBe(expected);
  });

  it("rotating X-Forwarded-For without the peer header keeps one bucket", () => {
    const buckets = new Set(["198.51.100.1", "198.51.100.2", "2001:db8::1"].map((xff) => getClientBucket(h({ [XFF]: xff }), { trustedProxies: 0, ipv6Prefix: 64 })));
    expect([...buckets]).toEqual(["unknown"]);
  });

  it("tells whether the request came through serve-web", () => {
    expect(hasPeerAddress(h({ [PEER_HEADER]: "192.0.2.1" }))).toBe(true);
    expect(hasPeerAddress(h({ [XFF]: "192.0.2.1" }))).toBe(false);
  });
});

describe("normalizeIp", () => {
  it.each<[string, string | null]>([
    ["[2001:DB8::1]:443", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["192.0.2.1:25", "192.0.2.1"],
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["::FFFF:c000:0201", "192.0.2.1"],
    ["[::ffff:192.0.2.1]:80", "192.0.2.1"],
    ["fe80::1%eth0", "fe80::1"],
    ["not-an-ip", null],
    ["", null],
  ])("%j → %j", (input, output) => {
    expect(normalizeIp(input)).toBe(output);
  });
});

describe("clientBucket", () => {
  it.each<[string, string, number, string]>([
    ["IPv4 counts per address", "203.0.113.5", 64, "203.0.113.5"],
    ["IPv4-mapped IPv6 is its IPv4 address", "::ffff:203.0.113.5", 64, "203.0.113.5"],
    ["IPv4-mapped in hex is its IPv4 address", "::ffff:cb00:7105", 64, "203.0.113.5"],
    ["IPv6 counts per /64 by default", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64"],
    ["another address of the same /64", "2001:db8:1:2::9", 64, "2001:db8:1:2::/64"],
    ["the next /64 is another client", "2001:db8:1:3::9", 64, "2001:db8:1:3::/64"],
    ["a /56", "2001:db8:1:2ff::1", 56, "2001:db8:1:200::/56"],
    ["a /48", "2001:db8:1:ffff::1", 48, "2001:db8:1::/48"],
    ["an odd prefix /61", "2001:db8:1:f::1", 61, "2001:db8:1:8::/61"],
    ["the smallest prefix, /32", "2001:db8:ffff:ffff::1", 32, "2001:db8::/32"],
    ["/128 counts each address", "2001:db8::1", 128, "2001:db8::1/128"],
    ["spellings of one address share a bucket", "2001:0DB8:0001:0002:0000:0000:0000:0001", 64, "2001:db8:1:2::/64"],
    ["unknown stays unknown", "unknown", 64, "unknown"],
    ["junk is unknown", "<script>", 64, "unknown"],
  ])("%s", (_name, ip, prefix, bucket) => {
    expect(clientBucket(ip, prefix)).toBe(bucket);
  });

  it("every per-client key comes from the bucket: a whole /64 behind serve-web is one client", () => {
    const settings = { trustedProxies: 0, ipv6Prefix: 64 };
    const a = getClientBucket(h({ [PEER_HEADER]: "2001:db8:1:2::1" }), settings);
    const b = getClientBucket(h({ [PEER_HEADER]: "2001:db8:1:2:ffff::2" }), settings);
    expect(a).toBe(b);
    expect(hashClientIp(a, "k".repeat(32))).toBe(hashClientIp(b, "k".repeat(32)));
  });
});

describe("hashClientIp", () => {
  it("is keyed and does not show the address", () => {
    expect(hashClientIp("192.0.2.1", "a".repeat(32))).not.toBe(hashClientIp("192.0.2.1", "b".repeat(32)));
    expect(hashClientIp("192.0.2.1", "a".repeat(32))).not.toContain("192");
  });
});
