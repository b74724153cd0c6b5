import { describe, expect, it } from "vitest";
import {
  classifyAddress,
  createAddressPolicy,
  isAllowedPort,
  parseAllowList,
  TargetPolicyConfigError,
} from "./target-policy";

// These tests only call the decision functions: nothing here opens a connection.

/** [address, the range it must be refused in] */
const refusedV4: [string, string][] = [
  ["0.0.0.0", "0.0.0.0/8"],
  ["0.255.255.255", "0.0.0.0/8"],
  ["10.0.0.1", "10.0.0.0/8"],
  ["10.255.255.255", "10.0.0.0/8"],
  ["100.64.0.0", "100.64.0.0/10"],
  ["100.127.255.255", "100.64.0.0/10"],
  ["127.0.0.1", "127.0.0.0/8"],
  ["127.255.255.254", "127.0.0.0/8"],
  ["169.254.0.1", "169.254.0.0/16"],
  ["169.254.169.254", "169.254.169.254/32"],
  ["172.16.0.1", "172.16.0.0/12"],
  ["172.31.255.255", "172.16.0.0/12"],
  ["192.0.0.8", "192.0.0.0/24"],
  ["192.0.2.1", "192.0.2.0/24"],
  ["192.31.196.1", "192.31.196.0/24"],
  ["192.52.193.1", "192.52.193.0/24"],
  ["192.88.99.1", "192.88.99.0/24"],
  ["192.168.0.1", "192.168.0.0/16"],
  ["192.168.255.255", "192.168.0.0/16"],
  ["192.175.48.1", "192.175.48.0/24"],
  ["198.18.0.1", "198.18.0.0/15"],
  ["198.19.255.255", "198.18.0.0/15"],
  ["198.51.100.7", "198.51.100.0/24"],
  ["203.0.113.9", "203.0.113.0/24"],
  ["224.0.0.1", "224.0.0.0/4"],
  ["239.255.255.250", "224.0.0.0/4"],
  ["240.0.0.1", "240.0.0.0/4"],
  ["254.255.255.255", "240.0.0.0/4"],
  ["255.255.255.255", "255.255.255.255/32"],
];

const refusedV6: [string, string][] = [
  ["::", "::/128"],
  ["::1", "::1/128"],
  ["::ffff:127.0.0.1", "::ffff:0:0/96"],
  ["::ffff:7f00:1", "::ffff:0:0/96"],
  ["::ffff:8.8.8.8", "::ffff:0:0/96"],
  ["::ffff:10.0.0.1", "::ffff:0:0/96"],
  ["::127.0.0.1", "::/96"],
  ["::1.2.3.4", "::/96"],
  ["::808:808", "::/96"],
  ["::ffff:0:808:808", "::ffff:0:0:0/96"],
  ["64:ff9b::7f00:1", "64:ff9b::/96"],
  ["64:ff9b::8.8.8.8", "64:ff9b::/96"],
  ["64:ff9b:1::1", "64:ff9b:1::/48"],
  ["100::1", "100::/64"],
  ["2001:0:4136:e378:8000:63bf:80ff:fffe", "2001::/32"],
  ["2001::1", "2001::/32"],
  ["2001:2::1", "2001:2::/48"],
  ["2001:10::1", "2001:10::/28"],
  ["2001:20::1", "2001:20::/28"],
  ["2001:3::1", "2001::/23"],
  ["2001:1ff:ffff::1", "2001::/23"],
  ["2001:db8::1", "2001:db8::/32"],
  ["2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32"],
  ["2002:7f00:1::1", "2002::/16"],
  ["2002:808:808::1", "2002::/16"],
  ["2620:4f:8000::53", "2620:4f:8000::/48"],
  ["3fff::1", "3fff::/20"],
  ["fc00::1", "fc00::/7"],
  ["fd12:3456:789a::1", "fc00::/7"],
  ["fe80::1", "fe80::/10"],
  ["febf:ffff::1", "fe80::/10"],
  ["fec0::1", "fec0::/10"],
  ["ff02::1", "ff00::/8"],
  ["ff05::1:3", "ff00::/8"],
  // Outside global unicast 2000::/3
  ["1::1", "outside 2000::/3"],
  ["4000::1", "outside 2000::/3"],
  ["5f00::1", "outside 2000::/3"],
  ["8000::1", "outside 2000::/3"],
  ["e000::1", "outside 2000::/3"],
];

const publicAddresses = [
  "1.1.1.1",
  "8.8.8.8",
  "9.255.255.255",
  "11.0.0.0",
  "100.63.255.255",
  "100.128.0.0",
  "126.255.255.255",
  "128.0.0.1",
  "169.253.255.255",
  "169.255.0.0",
  "172.15.255.255",
  "172.32.0.0",
  "192.0.1.255",
  "192.0.3.0",
  "192.167.255.255",
  "192.169.0.0",
  "198.17.255.255",
  "198.20.0.0",
  "203.0.112.255",
  "223.255.255.255",
  "2000::1",
  "2001:200::1",
  "2001:4860:4860::8888",
  "2001:db9::1",
  "2003::1",
  "2a00:1450:4001:80b::200e",
  "2606:4700::6810:84e5",
  "3ffe:ffff::1",
];

const malformed = [
  "",
  " 8.8.8.8",
  "8.8.8.8 ",
  "8.8.8.8\n",
  "010.0.0.1",
  "0x7f.0.0.1",
  "2130706433",
  "127.1",
  "8.8.8",
  "256.0.0.1",
  "８.８.８.８",
  "8.8.8.8/32",
  "[::1]",
  "[2001:4860::1]",
  "fe80::1%eth0",
  "2001:4860::1%1",
  "::ffff:127.1",
  "1:2:3",
  "1::2::3",
  "example.com",
  "localhost",
];

describe("classifyAddress", () => {
  it.each([...refusedV4, ...refusedV6])("refuses %s (%s)", (ip, range) => {
    const result = classifyAddress(ip);
    expect(result).toMatchObject({ public: false, range });
    expect(result.reason).toMatch(new RegExp(`^${ip.replace(/[.]/g, "\\.")} is `));
  });

  it.each(publicAddresses)("accepts public unicast %s", (ip) => {
    expect(classifyAddress(ip)).toStrictEqual({ public: true, range: "public unicast", reason: `${ip} is a public unicast address` });
  });

  it.each(malformed)("refuses malformed %j", (ip) => {
    expect(classifyAddress(ip)).toMatchObject({ public: false, range: "invalid" });
  });

  it("refuses what is not a string at all", () => {
    expect(classifyAddress(undefined as unknown as string)).toMatchObject({ public: false, range: "invalid" });
    expect(classifyAddress(2130706433 as unknown as string)).toMatchObject({ public: false, range: "invalid" });
  });

  it.each([
    ["127.0.0.1", "127.0.0.1 is a loopback address (127.0.0.0/8); relaycheck only tests public mail servers"],
    ["169.254.169.254", "169.254.169.254 is the link-local address of cloud metadata services (169.254.169.254/32); relaycheck only tests public mail servers"],
    ["::ffff:127.0.0.1", "::ffff:127.0.0.1 is an IPv4-mapped address (::ffff:0:0/96) for 127.0.0.1, a loopback address; relaycheck only tests public mail servers"],
    ["::ffff:8.8.8.8", "::ffff:8.8.8.8 is an IPv4-mapped address (::ffff:0:0/96) for 8.8.8.8; relaycheck refuses such addresses: test 8.8.8.8 itself"],
    ["64:ff9b::a00:1", "64:ff9b::a00:1 is a NAT64 address (64:ff9b::/96) for 10.0.0.1, a private address; relaycheck only tests public mail servers"],
    ["2002:c0a8:101::1", "2002:c0a8:101::1 is a 6to4 tunnel address (2002::/16) for 192.168.1.1, a private address; relaycheck only tests public mail servers"],
    ["2002:808:808::1", "2002:808:808::1 is a 6to4 tunnel address (2002::/16) for 8.8.8.8; relaycheck refuses such addresses: test 8.8.8.8 itself"],
    // RFC 4380 example: the client address 192.0.2.45 is stored inverted (3fff:fdd2).
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136:e378:8000:63bf:3fff:fdd2 is a Teredo tunnel address (2001::/32) for the Teredo client 192.0.2.45, a documentation address, TEST-NET-1; relaycheck only tests public mail servers"],
    ["2001:0:4136:e378:8000:63bf:80ff:fffe", "2001:0:4136:e378:8000:63bf:80ff:fffe is a Teredo tunnel address (2001::/32) for the Teredo client 127.0.0.1, a loopback address; relaycheck only tests public mail servers"],
    ["::1.2.3.4", "::1.2.3.4 is a deprecated IPv4-compatible address (::/96) for 1.2.3.4; relaycheck refuses such addresses: test 1.2.3.4 itself"],
  ])("explains why %s is refused", (ip, reason) => {
    expect(classifyAddress(ip).reason).toBe(reason);
  });
});

describe("createAddressPolicy", () => {
  const policy = createAddressPolicy();

  it.each([...refusedV4, ...refusedV6].map(([ip]) => ip))("refuses %s by default", (ip) => {
    const decision = policy(ip, 25);
    expect(decision.allowed).toBe(false);
    expect(decision).toHaveProperty("reason", classifyAddress(ip).reason);
  });

  it.each(publicAddresses)("allows %s on port 25", (ip) => {
    expect(policy(ip, 25)).toStrictEqual({ allowed: true });
  });

  it.each(malformed)("refuses malformed %j", (ip) => {
    expect(policy(ip, 25)).toMatchObject({ allowed: false, reason: expect.stringContaining("is not an IP address") });
  });

  it("never echoes control characters in a reason", () => {
    const decision = policy("8.8.8.8\r\nRCPT TO:<x@y>", 25);
    expect(decision.allowed).toBe(false);
    expect(decision).not.toHaveProperty("reason", expect.stringMatching(/[\r\n]/));
  });

  describe("ports", () => {
    it.each([25, 465, 587])("allows SMTP port %i", (port) => {
      expect(policy("8.8.8.8", port)).toStrictEqual({ allowed: true });
    });

    it.each([0, 1, 24, 26, 80, 443, 2525, 8025, 65535, 65536, -25, 25.5, Number.NaN, Number.POSITIVE_INFINITY])(
      "refuses port %s",
      (port) => {
        expect(policy("8.8.8.8", port)).toMatchObject({ allowed: false, reason: expect.stringContaining("not an SMTP port") });
      },
    );

    it("refuses a non-number port", () => {
      expect(policy("8.8.8.8", "25" as unknown as number)).toMatchObject({ allowed: false });
    });

    it("allows the operator's extra ports, and only those", () => {
      const withExtra = createAddressPolicy({ extraPorts: [2525] });
      expect(withExtra("8.8.8.8", 2525)).toStrictEqual({ allowed: true });
      expect(withExtra("8.8.8.8", 25)).toStrictEqual({ allowed: true });
      expect(withExtra("8.8.8.8", 2526)).toMatchObject({ allowed: false, reason: expect.stringContaining("2525") });
    });

    it("still refuses a refused address on an allowed port", () => {
      expect(createAddressPolicy({ extraPorts: [2525] })("127.0.0.1", 2525)).toMatchObject({ allowed: false });
    });

    it.each([[[0]], [[70000]], [[1.5]], [[Number.NaN]]])("rejects bad extra ports %j", (extraPorts) => {
      expect(() => createAddressPolicy({ extraPorts })).toThrow(TargetPolicyConfigError);
    });

    it.each([
      [25, [], true],
      [465, [], true],
      [587, [], true],
      [2525, [], false],
      [2525, [2525], true],
      [0, [0], false],
      [25.5, [], false],
    ] as [number, number[], boolean][])("isAllowedPort(%s, %j) is %s", (port, extra, expected) => {
      expect(isAllowedPort(port, extra)).toBe(expected);
    });
  });

  describe("allow-list", () => {
    const loopback = createAddressPolicy({ allow: ["127.0.0.0/8"], extraPorts: [2525] });

    it.each(["127.0.0.1", "127.0.0.21", "127.255.255.254"])("allows %s inside 127.0.0.0/8", (ip) => {
      expect(loopback(ip, 25)).toStrictEqual({ allowed: true });
      expect(loopback(ip, 2525)).toStrictEqual({ allowed: true });
    });

    it("still needs an allowed port", () => {
      expect(loopback("127.0.0.1", 80)).toMatchObject({ allowed: false, reason: expect.stringContaining("port 80") });
    });

    it.each(["10.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1"])(
      "still refuses %s (outside the range, or another family)",
      (ip) => {
        expect(loopback(ip, 25)).toMatchObject({ allowed: false });
      },
    );

    it("keeps allowing public addresses", () => {
      expect(loopback("8.8.8.8", 25)).toStrictEqual({ allowed: true });
    });

    it("allows IPv4-mapped addresses only when the IPv6 form is listed", () => {
      const mapped = createAddressPolicy({ allow: ["::ffff:127.0.0.0/104"] });
      expect(mapped("::ffff:127.0.0.1", 25)).toStrictEqual({ allowed: true });
      expect(mapped("127.0.0.1", 25)).toMatchObject({ allowed: false });
    });

    it("matches a single address exactly", () => {
      const one = createAddressPolicy({ allow: ["10.1.2.3", "fd00::25"] });
      expect(one("10.1.2.3", 25)).toStrictEqual({ allowed: true });
      expect(one("10.1.2.4", 25)).toMatchObject({ allowed: false });
      expect(one("fd00::25", 25)).toStrictEqual({ allowed: true });
      expect(one("fd00::26", 25)).toMatchObject({ allowed: false });
    });

    it("allows ::1 when listed", () => {
      const v6 = createAddressPolicy({ allow: parseAllowList("127.0.0.0/8, ::1") });
      expect(v6("::1", 25)).toStrictEqual({ allowed: true });
      expect(v6("::2", 25)).toMatchObject({ allowed: false });
    });

    it("does not let a malformed address through an allowed range", () => {
      expect(loopback("0177.0.0.1", 25)).toMatchObject({ allowed: false });
      expect(loopback("127.1", 25)).toMatchObject({ allowed: false });
    });

    it("rejects a bad entry when the policy is created", () => {
      expect(() => createAddressPolicy({ allow: ["127.0.0.0/33"] })).toThrow(TargetPolicyConfigError);
    });
  });
});

describe("parseAllowList", () => {
  it.each([
    [undefined, []],
    ["", []],
    [" , ,  ", []],
    ["127.0.0.0/8", ["127.0.0.0/8"]],
    ["127.0.0.0/8,::1", ["127.0.0.0/8", "::1/128"]],
    ["127.0.0.0/8, ::1 10.1.2.3", ["127.0.0.0/8", "::1/128", "10.1.2.3/32"]],
    ["127.0.0.0/8\n192.168.0.0/16\t", ["127.0.0.0/8", "192.168.0.0/16"]],
    ["127.0.0.0/8,127.0.0.0/8", ["127.0.0.0/8"]],
    ["2001:DB8:0:0::/32", ["2001:db8::/32"]],
    ["::ffff:127.0.0.0/104", ["::ffff:7f00:0/104"]],
    ["fd00::/8", ["fd00::/8"]],
  ] as [string | undefined, string[]][])("parses %j", (value, expected) => {
    expect(parseAllowList(value)).toStrictEqual(expected);
  });

  it.each([
    ["example.com", "is not an IP address or CIDR range"],
    ["127.1", "is not an IP address or CIDR range"],
    ["0177.0.0.0/8", "is not an IP address or CIDR range"],
    ["0x7f.0.0.0/8", "is not an IP address or CIDR range"],
    ["256.0.0.0/8", "is not an IP address or CIDR range"],
    ["fe80::%eth0/64", "is not an IP address or CIDR range"],
    ["[::1]", "is not an IP address or CIDR range"],
    ["10.0.0.0/8/8", "is not an IP address or CIDR range"],
    ["/8", "is not an IP address or CIDR range"],
    ["10.0.0.0/", "invalid prefix length"],
    ["10.0.0.0/08", "invalid prefix length"],
    ["10.0.0.0/-8", "invalid prefix length"],
    ["10.0.0.0/8x", "invalid prefix length"],
    ["10.0.0.0/33", "at most 32"],
    ["::1/129", "at most 128"],
    ["0.0.0.0/0", "switch the target policy off"],
    ["::/0", "switch the target policy off"],
    ["10.1.2.3/8", "did you mean 10.0.0.0/8?"],
    ["fd00::1/8", "did you mean fd00::/8?"],
  ])("rejects %j", (value, message) => {
    expect(() => parseAllowList(`127.0.0.0/8, ${value}`)).toThrow(TargetPolicyConfigError);
    expect(() => parseAllowList(value)).toThrow(message);
    expect(() => parseAllowList(value)).toThrow(`“${value}”`);
  });
});
