import { isIP } from "node:net";
import { domainToASCII, domainToUnicode } from "node:url";
import type { NormalizedTarget } from "./types";

/**
 * Turns what a person typed into a `NormalizedTarget`, or throws a `TargetInputError` that says
 * what is wrong and what is accepted. Only values that come out of here reach DNS or an SMTP
 * command line.
 *
 * Accepted:
 * - a host name or domain (RFC 1123 letters, digits, hyphens), IDN converted to punycode with
 *   `domainToASCII` (UTS-46); lower case; one trailing dot dropped; at least two labels;
 * - an IPv4 address in dotted decimal (`192.0.2.1`, `[192.0.2.1]`);
 * - an IPv6 address (`2001:db8::1`, `[2001:db8::1]`, `[IPv6:2001:db8::1]`), made canonical;
 * - any of these behind `mailto:`, `smtp://` or `smtps://` (the prefix is reported in `stripped`).
 *
 * Decisions worth knowing:
 * - Numeric IPv4 forms other than dotted decimal (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`)
 *   are refused, and so is any name whose last label is a number or `0x` hex: URL parsers read
 *   those as IPv4 addresses, so they could reach an address nobody saw typed.
 * - UTS-46 mapping is trusted: full-width letters and dots, ligatures and invisible characters it
 *   removes are accepted when `domainToASCII` accepts the result (the ASCII name is what is shown
 *   and tested). Only what `domainToASCII` refuses is refused. There is no confusable detection:
 *   a look-alike such as `exаmple.com` (Cyrillic а) is accepted and shown as its punycode.
 * - ASCII punctuation (`% / ? # @ : [ ] < > ;` …) is checked before `domainToASCII`, which would
 *   otherwise percent-decode (`a%41.com` → `aa.com`) or cut at a path (`a/b.com` → `a`).
 * - Control characters (C0, DEL, C1), Unicode line/paragraph separators and bidi controls are
 *   refused anywhere in the input, before trimming.
 * - `localhost`, `*.localhost`, `localhost.localdomain`, `.onion`, `.alt` and `.arpa` (except
 *   `.home.arpa`) are always refused; the other reserved names (`.test`, `.example`, `.invalid`,
 *   `.local`, `.localdomain`, `.internal`, `.home.arpa`, `.home`, `.corp`, `.mail`) only unless
 *   `allowReservedNames` is set (tests serve such names from a local DNS server).
 */
export function normalizeTarget(input: string, options: NormalizeTargetOptions = {}): NormalizedTarget {
  if (typeof input !== "string") fail("empty", EMPTY_MESSAGE);
  if (input.length > MAX_INPUT_LENGTH) {
    fail("too-long", `The target is ${input.length} characters long; a host name has at most ${MAX_NAME_LENGTH}.`);
  }
  const control = CONTROL_CHARACTER.exec(input);
  if (control) {
    fail(
      "control-characters",
      `The target contains a control character (${describeCharacter(control[0])}). ` +
        "Line breaks and other control characters are never part of a host name: enter only the domain, host name or IP address.",
    );
  }

  const trimmed = input.trim();
  if (trimmed === "") fail("empty", EMPTY_MESSAGE);

  let rest = trimmed;
  let stripped: string | undefined;
  const prefix = ACCEPTED_PREFIX.exec(rest);
  if (prefix) {
    stripped = prefix[0].toLowerCase();
    rest = rest.slice(prefix[0].length);
    // `smtp://host/` has an empty path: still a bare host.
    if (stripped !== "mailto:" && rest.endsWith("/")) rest = rest.slice(0, -1);
    if (rest === "") fail("empty", `Nothing follows “${stripped}”: enter the mail server's domain, host name or IP address.`);
  }

  const base = { input: trimmed, ...(stripped === undefined ? {} : { stripped }) };
  const shown = visible(rest);

  if (/[\s\p{Z}]/u.test(rest)) {
    fail("invalid-characters", `“${shown}” contains a space; a host name has none. Enter only the domain, host name or IP address.`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    fail("url", `“${shown}” is a URL. Enter only the host name (e.g. mail.example.com); the prefixes smtp://, smtps:// and mailto: are accepted, other schemes are not.`);
  }
  if (rest.includes("@")) {
    const domain = rest.slice(rest.lastIndexOf("@") + 1);
    const hint = /^[\p{L}\p{N}.-]+$/u.test(domain) ? ` (“${domain}”)` : "";
    fail("has-userinfo", `“${shown}” is an email address, not a host. Enter only the domain part after the “@”${hint}.`);
  }
  if (/[/?#\\]/.test(rest)) {
    fail("url", `“${shown}” has a path or query (“/”, “?”, “#” or “\\”). Enter only the host name, e.g. mail.example.com.`);
  }

  if (rest.startsWith("[")) return { ...base, ...parseBracketed(rest) };
  if (/[[\]]/.test(rest)) {
    fail("invalid-ip", `“${shown}” has a stray square bracket. Brackets enclose a whole IP address, like [192.0.2.1] or [IPv6:2001:db8::1].`);
  }
  if (rest.includes(":")) return { ...base, ...parseWithColon(rest) };
  if (rest.includes("%")) {
    fail("invalid-characters", `“${shown}” contains “%”: percent-encoding is not accepted. Type the host name itself.`);
  }
  const punctuation = /[^A-Za-z0-9._\-\u0080-\u{10FFFF}]/u.exec(rest);
  if (punctuation) {
    fail("invalid-characters", `“${shown}” contains “${punctuation[0]}”, which cannot appear in a host name (letters, digits, hyphens and dots only).`);
  }

  const ipv4 = parseIpv4(rest);
  if (ipv4) return { ...base, ...ipv4 };
  return { ...base, ...parseHostName(rest, options) };
}

export interface NormalizeTargetOptions {
  /**
   * Accept reserved names such as `closed.test` or `mx.example` (tests serve them from a local
   * DNS server). `localhost`, `.onion`, `.alt` and `.arpa` stay refused.
   */
  allowReservedNames?: boolean;
}

export type TargetInputErrorCode =
  | "empty"
  | "too-long"
  | "control-characters"
  | "invalid-characters"
  | "has-port"
  | "has-userinfo"
  | "url"
  | "invalid-ip"
  | "ambiguous-ip-form"
  | "ipv6-zone-id"
  | "invalid-idn"
  | "invalid-hostname"
  | "label-too-long"
  | "single-label"
  | "not-a-public-name";

/** The input is not a target relaycheck accepts; `message` is meant for the person who typed it. */
export class TargetInputError extends Error {
  override readonly name = "TargetInputError";
  readonly code: TargetInputErrorCode;

  constructor(code: TargetInputErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Longest input looked at at all (bounds the work done on hostile input). */
export const MAX_INPUT_LENGTH = 1024;
/** RFC 1035: 255 octets on the wire, i.e. 253 characters without the trailing dot. */
export const MAX_NAME_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;

type Parsed = Pick<NormalizedTarget, "kind" | "name" | "unicode">;

const EMPTY_MESSAGE = "Enter a domain (example.com), a mail server's host name (mail.example.com) or an IP address.";

/** C0, DEL and C1 controls, line/paragraph separators, and bidi controls (they reorder what is shown). */
const CONTROL_CHARACTER = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

const ACCEPTED_PREFIX = /^(?:mailto:|smtps?:\/\/)/i;

const DECIMAL_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const DOTTED_QUAD = new RegExp(`^${DECIMAL_OCTET}(?:\\.${DECIMAL_OCTET}){3}$`);

/** A label URL parsers read as a number: decimal, octal (leading 0) or `0x` hex. */
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|[0-9]+)$/i;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

function fail(code: TargetInputErrorCode, message: string): never {
  throw new TargetInputError(code, message);
}

/** `[192.0.2.1]`, `[2001:db8::1]` and the SMTP address literal `[IPv6:2001:db8::1]`. */
function parseBracketed(rest: string): Parsed {
  const shown = visible(rest);
  const close = rest.indexOf("]");
  if (close === -1) fail("invalid-ip", `“${shown}” opens a “[” but never closes it. Write an IP address literal as [192.0.2.1] or [2001:db8::1].`);
  const after = rest.slice(close + 1);
  if (/^:[0-9]+$/.test(after)) fail("has-port", portMessage(shown));
  if (after !== "") fail("invalid-ip", `“${shown}” has text after the closing “]”. Write an IP address literal as [192.0.2.1] or [2001:db8::1].`);

  let inner = rest.slice(1, close);
  const tagged = /^ipv6:/i.test(inner);
  if (tagged) inner = inner.slice("IPv6:".length);
  if (inner === "") fail("invalid-ip", `“${shown}” is empty between the brackets. Write an IP address literal as [192.0.2.1] or [2001:db8::1].`);
  if (inner.includes("%")) failZoneId(shown);
  if (isIP(inner) === 6) return { kind: "ipv6", name: canonicalIpv6(inner) };
  if (!tagged && !inner.includes(":") && !inner.includes("[")) {
    const ipv4 = parseIpv4(inner);
    if (ipv4) return ipv4;
  }
  fail(
    "invalid-ip",
    tagged
      ? `“${shown}” is not a valid IPv6 address literal, e.g. [IPv6:2001:db8::1].`
      : `“${shown}” is not an IP address. Square brackets are only for IP addresses, like [192.0.2.1] or [2001:db8::1]; write a host name without them.`,
  );
}

/** Input with a colon and no brackets: an IPv6 address, or a mistake (a port, a zone, a scheme). */
function parseWithColon(rest: string): Parsed {
  const shown = visible(rest);
  const percent = rest.indexOf("%");
  if (percent !== -1 && isIP(rest.slice(0, percent)) === 6) failZoneId(shown);
  if (percent === -1 && isIP(rest) === 6) return { kind: "ipv6", name: canonicalIpv6(rest) };
  const single = /^([^:]+):([^:]*)$/.exec(rest);
  if (single) {
    const [, before = "", after = ""] = single;
    if (after === "") {
      fail("invalid-characters", `“${shown}” ends with “:”. Enter the host name alone; choose ports with the ports option (25, 465, 587).`);
    }
    if (/^[0-9]+$/.test(after) || before.includes(".")) fail("has-port", portMessage(shown));
    fail("url", `“${shown}” starts with a URL scheme. Enter only the host name, e.g. mail.example.com (mailto: and smtp:// prefixes are accepted).`);
  }
  fail("invalid-ip", `“${shown}” is not a valid IPv6 address (e.g. 2001:db8::1) and a host name cannot contain “:”.`);
}

function portMessage(shown: string): string {
  return `“${shown}” includes a port. Enter the host alone and choose ports with the ports option (25, 465 or 587).`;
}

function failZoneId(shown: string): never {
  fail("ipv6-zone-id", `“${shown}” has an IPv6 zone (“%…”), which only means something on the local machine. Enter a global IPv6 address without a zone.`);
}

/**
 * Dotted decimal IPv4 → the address; any other numeric form → an error; a name → null.
 * Works on the NFKC form so that full-width digits and dots are caught here too.
 */
function parseIpv4(text: string): Parsed | null {
  const folded = text.normalize("NFKC").replace(/[\u3002\uff0e\uff61]/g, ".").toLowerCase();
  const labels = folded.split(".");
  const last = labels.length > 1 && labels.at(-1) === "" ? labels.at(-2) : labels.at(-1);
  if (last === undefined || !NUMERIC_LABEL.test(last)) return null;

  const shown = visible(text);
  if (DOTTED_QUAD.test(folded)) {
    if (folded === text) return { kind: "ipv4", name: text };
    fail("ambiguous-ip-form", `“${shown}” uses non-ASCII digits or dots. Type an IPv4 address in plain dotted decimal, e.g. 192.0.2.1.`);
  }
  if (/^(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}$/.test(folded)) {
    fail("invalid-ip", `“${shown}” is not a valid IPv4 address: each of the four numbers must be 0 to 255.`);
  }
  if (labels.every((label) => label === "" || NUMERIC_LABEL.test(label))) {
    fail(
      "ambiguous-ip-form",
      `“${shown}” looks like an IPv4 address in a non-standard form (a single number, octal, hexadecimal, leading zeros or fewer than four parts). ` +
        "Programs read such forms differently, so only dotted decimal is accepted, e.g. 192.0.2.1.",
    );
  }
  fail(
    "ambiguous-ip-form",
    `“${shown}” ends in a numeric label, which software reads as an IP address. A host name's last label must contain a letter; an IPv4 address is four decimal numbers, e.g. 192.0.2.1.`,
  );
}

/**
 * An `xn--` label that is not valid punycode. Node 20's `domainToASCII` refused such names; newer
 * Node (24) passes them through, and `domainToUnicode` then hands the label back undecoded.
 */
function undecodablePunycode(label: string): boolean {
  if (!label.toLowerCase().startsWith("xn--")) return false;
  const unicode = domainToUnicode(label);
  return unicode === "" || unicode.toLowerCase().startsWith("xn--") || domainToASCII(unicode) !== label.toLowerCase();
}

function parseHostName(text: string, options: NormalizeTargetOptions): Parsed {
  const shown = visible(text);
  const ascii = domainToASCII(text);
  if (ascii === "" || ascii.split(".").some(undecodablePunycode)) {
    fail("invalid-idn", `“${shown}” is not a valid domain name: its international characters cannot be converted (IDNA/UTS-46). Check for look-alike or invisible characters.`);
  }
  const name = ascii.endsWith(".") ? ascii.slice(0, -1) : ascii;
  if (name.length > MAX_NAME_LENGTH) {
    fail("too-long", `“${shown}” is ${name.length} characters long${name === text ? "" : " in ASCII form"}; a host name has at most ${MAX_NAME_LENGTH}.`);
  }

  const labels = name.split(".");
  for (const label of labels) {
    if (label === "") fail("invalid-hostname", `“${shown}” has an empty label (a leading dot or two dots in a row).`);
    if (label.length > MAX_LABEL_LENGTH) {
      fail("label-too-long", `“${shown}” has a label of ${label.length} characters; each part between dots has at most ${MAX_LABEL_LENGTH}.`);
    }
    if (label.includes("_")) fail("invalid-hostname", `“${shown}” contains “_”: host names of mail servers have only letters, digits and hyphens.`);
    if (label.startsWith("-") || label.endsWith("-")) {
      fail("invalid-hostname", `“${shown}” has a label that starts or ends with a hyphen (“${label}”), which host names cannot have.`);
    }
    if (!LDH_LABEL.test(label)) fail("invalid-hostname", `“${shown}” is not a valid host name: use letters, digits and hyphens between dots.`);
  }
  // Belt and braces: UTS-46 mapping must not have produced a numeric form.
  if (parseIpv4(name)) fail("ambiguous-ip-form", `“${shown}” turns into the IP address ${name}; type IP addresses in plain dotted decimal.`);

  if (labels.length < 2) {
    // `localhost` gets its own message; other single labels (`mail`, `test`) the generic one.
    refuseReservedName(name, shown, { allowReservedNames: true });
    fail("single-label", `“${shown}” is a single label; enter a full domain or host name such as example.com or mail.example.com.`);
  }
  refuseReservedName(name, shown, options);
  const unicode = domainToUnicode(name);
  return { kind: "domain", name, ...(unicode !== "" && unicode !== name ? { unicode } : {}) };
}

interface ReservedName {
  suffix: string;
  why: string;
  /** Refused even with `allowReservedNames`: these never go through DNS at all. */
  always?: true;
}

/** First match wins, so the more specific names come first. */
const RESERVED_NAMES: readonly ReservedName[] = [
  { suffix: "localhost", why: "always means this machine itself (RFC 6761)", always: true },
  { suffix: "localhost.localdomain", why: "is the local machine's conventional name", always: true },
  { suffix: "onion", why: "is a Tor onion service, not reachable through DNS (RFC 7686)", always: true },
  { suffix: "alt", why: "is reserved for name systems other than DNS (RFC 9476)", always: true },
  { suffix: "home.arpa", why: "is reserved for home networks (RFC 8375)" },
  { suffix: "arpa", why: "is the infrastructure domain (reverse DNS and the like)", always: true },
  { suffix: "local", why: "is a multicast DNS name on a local network (RFC 6762)" },
  { suffix: "localdomain", why: "is the conventional name of a local network" },
  { suffix: "internal", why: "is reserved for private networks" },
  { suffix: "home", why: "is used on private networks and will not be delegated" },
  { suffix: "corp", why: "is used on private networks and will not be delegated" },
  { suffix: "mail", why: "is used on private networks and will not be delegated" },
  { suffix: "test", why: "is reserved for testing (RFC 2606)" },
  { suffix: "example", why: "is reserved for documentation (RFC 2606)" },
  { suffix: "invalid", why: "is reserved to be always invalid (RFC 2606)" },
];

function refuseReservedName(name: string, shown: string, options: NormalizeTargetOptions): void {
  const reserved = RESERVED_NAMES.find((r) => name === r.suffix || name.endsWith(`.${r.suffix}`));
  if (!reserved || (options.allowReservedNames && !reserved.always)) return;
  const where = name === reserved.suffix ? `“${shown}”` : `“${shown}” is under .${reserved.suffix}, which`;
  fail("not-a-public-name", `${where} ${reserved.why}: it can never be a public mail server. Enter the public domain or host name of the mail server.`);
}

/**
 * RFC 5952 text form: lower case, no leading zeros, the longest run of two or more zero groups
 * compressed (the first one on a tie), IPv4-mapped addresses in mixed notation (§5).
 * `text` must already pass `isIP(text) === 6` without a zone.
 */
function canonicalIpv6(text: string): string {
  const toGroups = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((group) => {
          if (!group.includes(".")) return [Number.parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const lower = text.toLowerCase();
  const gap = lower.indexOf("::");
  let groups: number[];
  if (gap === -1) {
    groups = toGroups(lower);
  } else {
    const head = toGroups(lower.slice(0, gap));
    const tail = toGroups(lower.slice(gap + 2));
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }

  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }

  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** The input as it can safely appear in a message: invisible characters escaped, length capped. */
function visible(text: string): string {
  const escaped = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u${c.codePointAt(0)?.toString(16).padStart(4, "0")}`);
  return escaped.length > 80 ? `${escaped.slice(0, 77)}…` : escaped;
}

function describeCharacter(c: string): string {
  const names: Record<string, string> = { "\r": "carriage return, CR", "\n": "line feed, LF", "\0": "NUL", "\t": "tab" };
  return names[c] ?? `U+${c.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0")}`;
}
