import { describe, expect, it } from "vitest";
import { FORWARDED_FOR_HEADER, getClientIp, hashClientIp, normalizeIp, PEER_HEADER } from "./client-ip";

const h = (o: Record<string, string>) => new Headers(o);

describe("getClientIp", () => {
  it("uses the socket peer and ignores X-Forwarded-For when no proxy is trusted", () => {
    expect(getClientIp(h({ [PEER_HEADER]: "::ffff:203.0.113.5", [FORWARDED_FOR_HEADER]: "1.2.3.4" }), 0)).toBe("203.0.113.5");
  });
  it("takes the n-th address from the right with n trusted proxies", () => {
    const headers = h({ [PEER_HEADER]: "10.0.0.2", [FORWARDED_FOR_HEADER]: "6.6.6.6, 198.51.100.9, 10.0.0.1" });
    expect(getClientIp(headers, 1)).toBe("10.0.0.1");
    expect(getClientIp(headers, 2)).toBe("198.51.100.9");
    // A client cannot push itself further than the chain's start.
    expect(getClientIp(headers, 9)).toBe("6.6.6.6");
  });
  it("never returns something that is not an IP", () => {
    expect(getClientIp(h({ [PEER_HEADER]: "10.0.0.2", [FORWARDED_FOR_HEADER]: "<script>" }), 1)).toBe("unknown");
    expect(getClientIp(h({}), 0)).toBe("unknown");
  });
  it("normalises forms and hashes with a key", () => {
    expect(normalizeIp("[2001:DB8::1]:443")).toBe("2001:db8::1");
    expect(normalizeIp("192.0.2.1:25")).toBe("192.0.2.1");
    expect(hashClientIp("192.0.2.1", "a".repeat(32))).not.toBe(hashClientIp("192.0.2.1", "b".repeat(32)));
    expect(hashClientIp("192.0.2.1", "a".repeat(32))).not.toContain("192");
  });
});
