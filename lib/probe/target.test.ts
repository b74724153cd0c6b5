import { describe, expect, it } from "vitest";
import { normalizeTarget, TargetInputError, type TargetInputErrorCode } from "./target";
import type { NormalizedTarget } from "./types";

type Expected = Omit<NormalizedTarget, "input">;

const label = (n: number, c = "a") => c.repeat(n);

/** Inputs that must be refused, each with the exact error code. */
const hostile: [name: string, input: string, code: TargetInputErrorCode][] = [
  // Numeric IPv4 forms other than dotted decimal
  ["decimal integer", "2130706433", "ambiguous-ip-form"],
  ["hex integer", "0x7f000001", "ambiguous-ip-form"],
  ["upper-case hex integer", "0X7F000001", "ambiguous-ip-form"],
  ["octal integer", "017700000001", "ambiguous-ip-form"],
  ["hex two parts", "0x7f.1", "ambiguous-ip-form"],
  ["two parts", "127.1", "ambiguous-ip-form"],
  ["three parts", "127.0.1", "ambiguous-ip-form"],
  ["octal dotted", "0177.0.0.1", "ambiguous-ip-form"],
  ["leading zero", "127.0.0.01", "ambiguous-ip-form"],
  ["hex dotted", "0x7f.0x0.0x0.0x1", "ambiguous-ip-form"],
  ["five parts", "1.2.3.4.5", "ambiguous-ip-form"],
  ["trailing dot on an IP", "127.0.0.1.", "ambiguous-ip-form"],
  ["bare 0x", "0x", "ambiguous-ip-form"],
  ["numeric last label", "example.123", "ambiguous-ip-form"],
  ["hex last label", "mail.0x7f", "ambiguous-ip-form"],
  ["numeric last label with trailing dot", "example.123.", "ambiguous-ip-form"],
  ["full-width digits", "１２７.０.０.１", "ambiguous-ip-form"],
  ["full-width dots in an IP", "127．0．0．1", "ambiguous-ip-form"],
  ["octet over 255", "256.1.1.1", "invalid-ip"],
  ["octets far over 255", "999.999.999.999", "invalid-ip"],
  ["bracketed short form", "[127.1]", "ambiguous-ip-form"],
  ["bracketed integer", "[2130706433]", "ambiguous-ip-form"],
  // localhost and other names that are never public
  ["localhost", "localhost", "not-a-public-name"],
  ["LOCALHOST with trailing dot", "LOCALHOST.", "not-a-public-name"],
  ["mixed-case localhost", "LocalHost", "not-a-public-name"],
  ["sub.localhost", "mail.localhost", "not-a-public-name"],
  ["localhost.localdomain", "localhost.localdomain", "not-a-public-name"],
  ["full-width localhost", "ｌｏｃａｌｈｏｓｔ", "not-a-public-name"],
  [".local", "printer.local", "not-a-public-name"],
  [".localdomain", "mail.localdomain", "not-a-public-name"],
  [".internal", "metadata.google.internal", "not-a-public-name"],
  [".home.arpa", "router.home.arpa", "not-a-public-name"],
  [".arpa", "1.0.0.127.in-addr.arpa", "not-a-public-name"],
  [".onion", "expyuzz4wqqyqhjn.onion", "not-a-public-name"],
  [".test", "closed.test", "not-a-public-name"],
  [".example", "mx.example", "not-a-public-name"],
  [".invalid", "relaycheck.invalid", "not-a-public-name"],
  [".corp", "mail.corp", "not-a-public-name"],
  ["bare TLD test", "test", "single-label"],
  // Single labels
  ["single label", "mail", "single-label"],
  ["single label with trailing dot", "mail.", "single-label"],
  ["a TLD alone", "com", "single-label"],
  // Trailing and stray dots
  ["two trailing dots", "example.com..", "invalid-hostname"],
  ["leading dot", ".example.com", "invalid-hostname"],
  ["double dot", "example..com", "invalid-hostname"],
  ["only a dot", ".", "invalid-hostname"],
  // Host name syntax
  ["underscore", "_dmarc.example.com", "invalid-hostname"],
  ["leading hyphen", "-mail.example.com", "invalid-hostname"],
  ["trailing hyphen", "mail-.example.com", "invalid-hostname"],
  ["label of 64", `${label(64)}.com`, "label-too-long"],
  ["IDN label over 63 once converted", `${label(60, "ü")}.de`, "label-too-long"],
  ["name of 254", `${label(63)}.${label(63)}.${label(63)}.${label(62)}`, "too-long"],
  ["input over 1024", `${"a.".repeat(600)}com`, "too-long"],
  // Unicode that UTS-46 refuses
  ["bad punycode", "xn--zz.com", "invalid-idn"],
  ["zero-width joiner out of context", "a\u200d.example.com", "invalid-idn"],
  ["one-dot leader", "ex\u2024ample.com", "invalid-idn"],
  // Injection attempts
  ["CRLF + SMTP command", "example.com\r\nRCPT TO:<x@y>", "control-characters"],
  ["LF alone", "example.com\nQUIT", "control-characters"],
  ["trailing CRLF", "example.com\r\n", "control-characters"],
  ["leading LF (refused before trimming)", "\nexample.com", "control-characters"],
  ["NUL", "example.com\0.evil.com", "control-characters"],
  ["tab", "example.com\tx", "control-characters"],
  ["DEL", "exam\x7fple.com", "control-characters"],
  ["C1 NEL", "example.com\u0085", "control-characters"],
  ["Unicode line separator", "example.com\u2028x", "control-characters"],
  ["bidi override", "moc.elpmaxe\u202e", "control-characters"],
  ["space and SMTP command", "example.com RCPT TO:<x@y>", "invalid-characters"],
  ["inner space", "exa mple.com", "invalid-characters"],
  ["no-break space", "exa\u00a0mple.com", "invalid-characters"],
  ["angle brackets", "<example.com>", "invalid-characters"],
  ["semicolon", "example.com;rm", "invalid-characters"],
  ["comma", "a.com,b.com", "invalid-characters"],
  ["quote", "\"example.com\"", "invalid-characters"],
  ["percent-encoding", "exa%6dple.com", "invalid-characters"],
  ["encoded CRLF", "example.com%0d%0a", "invalid-characters"],
  ["colon command", "example.com:RCPT", "has-port"],
  ["trailing colon", "example.com:", "invalid-characters"],
  // IP literal mistakes
  ["unclosed bracket", "[127.0.0.1", "invalid-ip"],
  ["empty brackets", "[]", "invalid-ip"],
  ["empty IPv6 tag", "[IPv6:]", "invalid-ip"],
  ["stray closing bracket", "127.0.0.1]", "invalid-ip"],
  ["name in brackets", "[example.com]", "invalid-ip"],
  ["IPv4 behind IPv6 tag", "[IPv6:192.0.2.1]", "invalid-ip"],
  ["text after bracket", "[::1]x", "invalid-ip"],
  ["nested brackets", "[[::1]]", "invalid-ip"],
  ["two double colons", "1::2::3", "invalid-ip"],
  ["nine groups", "1:2:3:4:5:6:7:8:9", "invalid-ip"],
  ["IPv6 with short embedded IPv4", "::ffff:127.1", "invalid-ip"],
  ["IPv6 with hex embedded IPv4", "::ffff:0x7f.0.0.1", "invalid-ip"],
  ["zone id", "fe80::1%eth0", "ipv6-zone-id"],
  ["encoded zone id in brackets", "[fe80::1%25eth0]", "ipv6-zone-id"],
  // Ports, userinfo, URLs
  ["port", "mail.example.com:25", "has-port"],
  ["IPv4 with port", "192.0.2.1:25", "has-port"],
  ["bracketed IPv6 with port", "[2001:db8::1]:587", "has-port"],
  ["localhost with port", "localhost:25", "has-port"],
  ["email address", "postmaster@example.com", "has-userinfo"],
  ["mailto with address", "mailto:postmaster@example.com", "has-userinfo"],
  ["smtp URL with userinfo", "smtp://user:pass@mail.example.com", "has-userinfo"],
  ["SMTP-style path", "<x@y>", "has-userinfo"],
  ["http URL", "http://example.com", "url"],
  ["https URL with path", "https://example.com/admin", "url"],
  ["file URL", "file:///etc/passwd", "url"],
  ["gopher SSRF", "gopher://127.0.0.1:25/_HELO", "url"],
  ["javascript scheme", "javascript:alert(1)", "url"],
  ["scheme without slashes", "http:example.com", "url"],
  ["smtp URL with path", "smtp://mail.example.com/x", "url"],
  ["query", "example.com?x=1", "url"],
  ["fragment", "example.com#x", "url"],
  ["backslash", "example.com\\x", "url"],
  ["double prefix", "smtp://smtp://example.com", "url"],
  ["path trick", "example.com/.evil.com", "url"],
  // Empty
  ["empty", "", "empty"],
  ["whitespace only", "   ", "empty"],
  ["Unicode spaces only", "\u3000\u00a0", "empty"],
  ["prefix only", "smtp://", "empty"],
  ["mailto only", "mailto:", "empty"],
];

/** Inputs that must be accepted, with the exact result (`input` is the trimmed input). */
const valid: [input: string, expected: Expected][] = [
  ["example.com", { kind: "domain", name: "example.com" }],
  ["Mail.Example.COM", { kind: "domain", name: "mail.example.com" }],
  ["mail.example.com.", { kind: "domain", name: "mail.example.com" }],
  ["  example.com  ", { kind: "domain", name: "example.com" }],
  ["a-b.example.com", { kind: "domain", name: "a-b.example.com" }],
  ["0x10.example.com", { kind: "domain", name: "0x10.example.com" }],
  ["123.example.com", { kind: "domain", name: "123.example.com" }],
  ["3com.com", { kind: "domain", name: "3com.com" }],
  ["ab--cd.example.com", { kind: "domain", name: "ab--cd.example.com" }],
  ["localhost.example.com", { kind: "domain", name: "localhost.example.com" }],
  // Public-looking: normalisation accepts it; the policy decides on the resolved 127.0.0.1.
  ["127.0.0.1.nip.io", { kind: "domain", name: "127.0.0.1.nip.io" }],
  [`${label(63)}.com`, { kind: "domain", name: `${label(63)}.com` }],
  [`${label(63)}.${label(63)}.${label(63)}.${label(61)}`, { kind: "domain", name: `${label(63)}.${label(63)}.${label(63)}.${label(61)}` }],
  [`${label(63)}.${label(63)}.${label(63)}.${label(61)}.`, { kind: "domain", name: `${label(63)}.${label(63)}.${label(63)}.${label(61)}` }],
  // IDN and look-alikes: converted, the Unicode form kept for display
  ["exаmple.com", { kind: "domain", name: "xn--exmple-4nf.com", unicode: "exаmple.com" }],
  ["münchen.de", { kind: "domain", name: "xn--mnchen-3ya.de", unicode: "münchen.de" }],
  ["MÜNCHEN.DE", { kind: "domain", name: "xn--mnchen-3ya.de", unicode: "münchen.de" }],
  ["faß.de", { kind: "domain", name: "xn--fa-hia.de", unicode: "faß.de" }],
  ["пример.рф", { kind: "domain", name: "xn--e1afmkfd.xn--p1ai", unicode: "пример.рф" }],
  ["xn--e1afmkfd.xn--p1ai", { kind: "domain", name: "xn--e1afmkfd.xn--p1ai", unicode: "пример.рф" }],
  ["公司.cn", { kind: "domain", name: "xn--55qx5d.cn", unicode: "公司.cn" }],
  // UTS-46 mappings are trusted: full-width letters and dots, ideographic full stop, soft hyphen
  ["ｅｘａｍｐｌｅ．ｃｏｍ", { kind: "domain", name: "example.com" }],
  ["example。com", { kind: "domain", name: "example.com" }],
  ["exa\u00admple.com", { kind: "domain", name: "example.com" }],
  // Prefixes: stripped and reported
  ["mailto:example.com", { kind: "domain", name: "example.com", stripped: "mailto:" }],
  ["SMTP://mail.example.com", { kind: "domain", name: "mail.example.com", stripped: "smtp://" }],
  ["smtp://mail.example.com/", { kind: "domain", name: "mail.example.com", stripped: "smtp://" }],
  ["smtps://[2001:db8::1]", { kind: "ipv6", name: "2001:db8::1", stripped: "smtps://" }],
  ["smtp://192.0.2.1", { kind: "ipv4", name: "192.0.2.1", stripped: "smtp://" }],
  // IPv4
  ["192.0.2.1", { kind: "ipv4", name: "192.0.2.1" }],
  ["[192.0.2.1]", { kind: "ipv4", name: "192.0.2.1" }],
  ["0.0.0.0", { kind: "ipv4", name: "0.0.0.0" }],
  ["255.255.255.255", { kind: "ipv4", name: "255.255.255.255" }],
  ["127.0.0.1", { kind: "ipv4", name: "127.0.0.1" }],
  // IPv6, made canonical (RFC 5952)
  ["2001:db8::1", { kind: "ipv6", name: "2001:db8::1" }],
  ["[2001:db8::1]", { kind: "ipv6", name: "2001:db8::1" }],
  ["[IPv6:2001:db8::1]", { kind: "ipv6", name: "2001:db8::1" }],
  ["[ipv6:2001:DB8:0:0:0:0:0:1]", { kind: "ipv6", name: "2001:db8::1" }],
  ["2001:0DB8:0000:0000:0000:0000:0000:0001", { kind: "ipv6", name: "2001:db8::1" }],
  ["2001:db8:0:0:1:0:0:1", { kind: "ipv6", name: "2001:db8::1:0:0:1" }],
  ["2001:db8:0:1:1:1:1:1", { kind: "ipv6", name: "2001:db8:0:1:1:1:1:1" }],
  ["::", { kind: "ipv6", name: "::" }],
  ["::1", { kind: "ipv6", name: "::1" }],
  ["[::1]", { kind: "ipv6", name: "::1" }],
  // Mapped addresses are normalised (mixed notation) and left to the policy, which refuses them.
  ["::ffff:127.0.0.1", { kind: "ipv6", name: "::ffff:127.0.0.1" }],
  ["::FFFF:7F00:1", { kind: "ipv6", name: "::ffff:127.0.0.1" }],
  ["::1.2.3.4", { kind: "ipv6", name: "::102:304" }],
  ["64:ff9b::192.0.2.1", { kind: "ipv6", name: "64:ff9b::c000:201" }],
];

describe("normalizeTarget: hostile inputs", () => {
  it("has at least 50 of them", () => {
    expect(hostile.length).toBeGreaterThanOrEqual(50);
  });

  it.each(hostile)("refuses %s", (_name, input, code) => {
    let error: unknown;
    try {
      normalizeTarget(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TargetInputError);
    expect((error as TargetInputError).code).toBe(code);
    expect((error as TargetInputError).message.length).toBeGreaterThan(20);
  });
});

describe("normalizeTarget: valid inputs", () => {
  it.each(valid)("accepts %j", (input, expected) => {
    expect(normalizeTarget(input)).toStrictEqual({ input: input.trim(), ...expected });
  });
});

describe("normalizeTarget: reserved names", () => {
  it.each([
    ["closed.test", "closed.test"],
    ["MX1.Open.Test.", "mx1.open.test"],
    ["mx.example", "mx.example"],
    ["relay.invalid", "relay.invalid"],
    ["printer.local", "printer.local"],
    ["router.home.arpa", "router.home.arpa"],
  ])("accepts %j when allowReservedNames is set", (input, name) => {
    expect(normalizeTarget(input, { allowReservedNames: true })).toStrictEqual({ input, kind: "domain", name });
  });

  it.each(["localhost", "mail.localhost", "localhost.localdomain", "x.onion", "x.alt", "1.0.0.127.in-addr.arpa"])(
    "refuses %j even when allowReservedNames is set",
    (input) => {
      expect(() => normalizeTarget(input, { allowReservedNames: true })).toThrow(
        expect.objectContaining({ code: "not-a-public-name" }),
      );
    },
  );
});

describe("normalizeTarget: messages", () => {
  const messageOf = (input: string): string => {
    try {
      normalizeTarget(input);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`accepted ${JSON.stringify(input)}`);
  };

  it("tells what is accepted instead", () => {
    expect(messageOf("2130706433")).toContain("dotted decimal");
    expect(messageOf("mail.example.com:25")).toContain("ports option");
    expect(messageOf("postmaster@example.com")).toContain("“example.com”");
    expect(messageOf("localhost")).toContain("public mail server");
  });

  it("never echoes control characters", () => {
    expect(messageOf("exa\u202emple.com")).not.toMatch(/[\u202e]/);
    expect(messageOf("a\u200d.example.com")).toContain("\\u200d");
    expect(messageOf("example.com\r\nRCPT TO:<x@y>")).not.toMatch(/[\r\n]/);
  });

  it("is an Error with a stable name", () => {
    const error = new TargetInputError("empty", "x");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("TargetInputError");
  });
});

describe("normalizeTarget: IPv6 canonical form", () => {
  // WHATWG URL serialisation also follows RFC 5952 compression: use it as the oracle.
  it("agrees with the URL parser on random addresses", () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 500; n += 1) {
      const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? (next() % 0x10000).toString(16) : "0"));
      if (groups.slice(0, 6).join(":") === "0:0:0:0:0:ffff") continue;
      const text = groups.join(":");
      const oracle = new URL(`http://[${text}]/`).hostname.slice(1, -1);
      expect(normalizeTarget(text).name, text).toBe(oracle);
    }
  });
});
