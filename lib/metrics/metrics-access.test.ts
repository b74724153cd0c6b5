import { describe, expect, it } from "vitest";
import { isLoopbackAddress, mayReadMetrics } from "./metrics-access";

const TOKEN = "s3cret-token-of-16+";

describe("mayReadMetrics", () => {
  it.each([
    ["IPv4 loopback", { peer: "127.0.0.1", forwarded: false, authorization: null }, undefined, true],
    ["another loopback address", { peer: "127.0.0.200", forwarded: false, authorization: null }, undefined, true],
    ["IPv6 loopback", { peer: "::1", forwarded: false, authorization: null }, undefined, true],
    ["IPv4-mapped loopback", { peer: "::ffff:127.0.0.1", forwarded: false, authorization: null }, undefined, true],
    ["loopback through a proxy", { peer: "127.0.0.1", forwarded: true, authorization: null }, TOKEN, false],
    ["loopback through a proxy, with the token", { peer: "127.0.0.1", forwarded: true, authorization: `Bearer ${TOKEN}` }, TOKEN, true],
    ["a remote client", { peer: "198.51.100.7", forwarded: false, authorization: null }, TOKEN, false],
    ["a remote client with the token", { peer: "198.51.100.7", forwarded: false, authorization: `Bearer ${TOKEN}` }, TOKEN, true],
    ["a remote client with another token", { peer: "198.51.100.7", forwarded: false, authorization: "Bearer nope-nope-nope-nope" }, TOKEN, false],
    ["a remote client when no token is set", { peer: "198.51.100.7", forwarded: false, authorization: "Bearer " }, undefined, false],
    ["an unknown peer", { peer: null, forwarded: false, authorization: null }, TOKEN, false],
    ["Basic instead of Bearer", { peer: "198.51.100.7", forwarded: false, authorization: `Basic ${TOKEN}` }, TOKEN, false],
  ])("%s → %s", (_, request, token, allowed) => {
    expect(mayReadMetrics(request, token)).toBe(allowed);
  });

  it.each([
    ["127.0.0.1", true],
    ["10.0.0.1", false],
    ["::1", true],
    ["::", false],
    ["", false],
    ["localhost", false],
  ])("isLoopbackAddress(%j) → %s", (ip, loopback) => {
    expect(isLoopbackAddress(ip)).toBe(loopback);
  });
});
