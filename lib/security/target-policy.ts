import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { SMTP_PORTS } from "@/lib/probe/options";
import type { AddressDecision, AddressPolicy } from "@/lib/probe/types";

/**
 * The target policy: which addresses and ports relaycheck may connect to. Only public unicast
 * addresses on SMTP ports, unless the operator's allow-list (`RELAYCHECK_ALLOW_TARGETS`,
 * `--allow`) names the address. Fails closed: anything it cannot parse is refused.
 *
 * Decisions:
 * - The ranges are an explicit table below, first match wins; ipaddr.js parses and matches, and
 *   its own `range()` is a second net: an address our table calls public but ipaddr.js does not
 *   call `unicast` is refused too.
 * - Addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64,
 *   6to4, Teredo) are refused outright, whatever they embed: no mail server needs them, a
 *   tunnel or translator could carry the connection into the operator's network, and 6to4 and
 *   Teredo are deprecated. The reason names the embedded IPv4 address (Teredo: the client's).
 * - The allow-list matches within one family: allowing 127.0.0.0/8 does not allow
 *   `::ffff:127.0.0.1`; an operator who wants that lists `::ffff:127.0.0.0/104` itself.
 * - Only dotted-decimal IPv4 and IPv6 without a zone are parsed, here and in the allow-list:
 *   ipaddr.js alone would read `010.0.0.1` as 8.0.0.1.
 */
export function createAddressPolicy(options: AddressPolicyOptions = {}): AddressPolicy {
  const allow = (options.allow ?? []).map(parseAllowEntry);
  const extraPorts = [...(options.extraPorts ?? [])];
  for (const port of extraPorts) {
    if (!isPortNumber(port)) throw new TargetPolicyConfigError(`Extra port ${String(port)} is not a port number (1 to 65535).`);
  }

  return (ip: string, port: number): AddressDecision => {
    if (!isAllowedPort(port, extraPorts)) return { allowed: false, reason: portReason(port, extraPorts) };
    const address = parseAddress(ip);
    if (!address) return { allowed: false, reason: `${safe(ip)} is not an IP address; relaycheck only connects to valid public addresses` };
    if (allow.some((entry) => inRange(address, entry.range))) return { allowed: true };
    const verdict = classify(address, ip);
    return verdict.public ? { allowed: true } : { allowed: false, reason: verdict.reason };
  };
}

export interface AddressPolicyOptions {
  /** CIDR ranges or single addresses allowed even when not public (operator config, tests). */
  allow?: readonly string[];
  /** Ports allowed besides 25, 465 and 587. */
  extraPorts?: readonly number[];
}

export interface AddressClass {
  public: boolean;
  /** The range the address falls in, e.g. "127.0.0.0/8", or "public unicast", or "invalid". */
  range: string;
  /** One sentence for people, e.g. "127.0.0.1 is a loopback address (127.0.0.0/8); ...". */
  reason: string;
}

/** A bad allow-list entry or extra port: the operator's configuration is wrong. */
export class TargetPolicyConfigError extends Error {
  override readonly name = "TargetPolicyConfigError";
}

/** Is this address public unicast, and if not, which range is it in and why is it refused? */
export function classifyAddress(ip: string): AddressClass {
  const address = parseAddress(ip);
  if (!address) return { public: false, range: "invalid", reason: `${safe(ip)} is not an IP address` };
  return classify(address, ip);
}

/** 25, 465, 587 and the operator's extra ports. */
export function isAllowedPort(port: number, extraPorts: readonly number[] = []): boolean {
  return isPortNumber(port) && ((SMTP_PORTS as readonly number[]).includes(port) || extraPorts.includes(port));
}

/**
 * Parses an allow-list such as `RELAYCHECK_ALLOW_TARGETS="127.0.0.0/8, ::1"`: CIDR ranges or
 * single addresses separated by commas and/or spaces. Returns them normalised (`::1/128`);
 * throws a `TargetPolicyConfigError` naming the first bad entry.
 */
export function parseAllowList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const entries = value.split(/[\s,]+/).filter((entry) => entry !== "");
  return [...new Set(entries.map((entry) => parseAllowEntry(entry).cidr))];
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

interface RangeRow {
  cidr: string;
  /** "a loopback address", completing "<ip> is ...". */
  what: string;
  /** Where the embedded IPv4 address sits, for the reason. */
  embeds?: "last-32-bits" | "6to4" | "teredo";
}

const PUBLIC_ONLY = "relaycheck only tests public mail servers";

/** IPv4 addresses that are not public unicast. Most specific first: the first match names it. */
const IPV4_REFUSED: readonly RangeRow[] = [
  { cidr: "169.254.169.254/32", what: "the link-local address of cloud metadata services" },
  { cidr: "255.255.255.255/32", what: "the broadcast address" },
  { cidr: "0.0.0.0/8", what: "a “this network” address" },
  { cidr: "10.0.0.0/8", what: "a private address" },
  { cidr: "100.64.0.0/10", what: "a carrier-grade NAT address" },
  { cidr: "127.0.0.0/8", what: "a loopback address" },
  { cidr: "169.254.0.0/16", what: "a link-local address" },
  { cidr: "172.16.0.0/12", what: "a private address" },
  { cidr: "192.0.0.0/24", what: "an IETF protocol assignment address" },
  { cidr: "192.0.2.0/24", what: "a documentation address, TEST-NET-1" },
  // AS112 and AMT are anycast infrastructure, never mail servers (ipaddr.js flags them too).
  { cidr: "192.31.196.0/24", what: "an AS112 DNS address" },
  { cidr: "192.52.193.0/24", what: "an AMT relay address" },
  { cidr: "192.88.99.0/24", what: "a 6to4 relay anycast address" },
  { cidr: "192.168.0.0/16", what: "a private address" },
  { cidr: "192.175.48.0/24", what: "an AS112 DNS address" },
  { cidr: "198.18.0.0/15", what: "a benchmarking address" },
  { cidr: "198.51.100.0/24", what: "a documentation address, TEST-NET-2" },
  { cidr: "203.0.113.0/24", what: "a documentation address, TEST-NET-3" },
  { cidr: "224.0.0.0/4", what: "a multicast address" },
  { cidr: "240.0.0.0/4", what: "a reserved address" },
];

/** IPv6 addresses that are not public unicast; anything outside 2000::/3 is refused after these. */
const IPV6_REFUSED: readonly RangeRow[] = [
  { cidr: "::/128", what: "the unspecified address" },
  { cidr: "::1/128", what: "the loopback address" },
  { cidr: "::ffff:0:0/96", what: "an IPv4-mapped address", embeds: "last-32-bits" },
  { cidr: "::/96", what: "a deprecated IPv4-compatible address", embeds: "last-32-bits" },
  { cidr: "::ffff:0:0:0/96", what: "an IPv4-translated address", embeds: "last-32-bits" },
  { cidr: "64:ff9b::/96", what: "a NAT64 address", embeds: "last-32-bits" },
  { cidr: "64:ff9b:1::/48", what: "a local-use NAT64 address" },
  { cidr: "100::/64", what: "a discard-only address" },
  { cidr: "2001::/32", what: "a Teredo tunnel address", embeds: "teredo" },
  { cidr: "2001:2::/48", what: "a benchmarking address" },
  { cidr: "2001:10::/28", what: "an ORCHID identifier, not a routable address" },
  { cidr: "2001:20::/28", what: "an ORCHIDv2 identifier, not a routable address" },
  { cidr: "2001::/23", what: "an IETF protocol assignment address" },
  { cidr: "2001:db8::/32", what: "a documentation address" },
  { cidr: "2002::/16", what: "a 6to4 tunnel address", embeds: "6to4" },
  { cidr: "2620:4f:8000::/48", what: "an AS112 DNS address" },
  { cidr: "3fff::/20", what: "a documentation address" },
  { cidr: "fc00::/7", what: "a unique local address" },
  { cidr: "fe80::/10", what: "a link-local address" },
  { cidr: "fec0::/10", what: "a deprecated site-local address" },
  { cidr: "ff00::/8", what: "a multicast address" },
];

const GLOBAL_UNICAST_V6: Range = ipaddr.parseCIDR("2000::/3");

const compile = (rows: readonly RangeRow[]) => rows.map((row) => ({ ...row, range: ipaddr.parseCIDR(row.cidr) as Range }));
const IPV4_TABLE = compile(IPV4_REFUSED);
const IPV6_TABLE = compile(IPV6_REFUSED);

function classify(address: Address, shown: string): AddressClass {
  const ip = safe(shown);
  const table = address.kind() === "ipv4" ? IPV4_TABLE : IPV6_TABLE;
  const row = table.find((r) => inRange(address, r.range));
  if (row) return { public: false, range: row.cidr, reason: refusalReason(ip, row, address) };

  if (address.kind() === "ipv6" && !inRange(address, GLOBAL_UNICAST_V6)) {
    return { public: false, range: "outside 2000::/3", reason: `${ip} is not a global unicast address (2000::/3); ${PUBLIC_ONLY}` };
  }
  // Second net: a special-purpose range ipaddr.js knows and the table above does not.
  const libraryRange = address.range();
  if (libraryRange !== "unicast") {
    return { public: false, range: libraryRange, reason: `${ip} is in the special-purpose range “${libraryRange}”; ${PUBLIC_ONLY}` };
  }
  return { public: true, range: "public unicast", reason: `${ip} is a public unicast address` };
}

function refusalReason(ip: string, row: RangeRow, address: Address): string {
  const embedded = row.embeds && address.kind() === "ipv6" ? embeddedIpv4(address as ipaddr.IPv6, row.embeds) : null;
  if (!embedded) return `${ip} is ${row.what} (${row.cidr}); ${PUBLIC_ONLY}`;
  const inner = classify(embedded, embedded.toString());
  const v4 = embedded.toString();
  const who = row.embeds === "teredo" ? `the Teredo client ${v4}` : v4;
  if (!inner.public) {
    const innerRow = IPV4_TABLE.find((r) => r.cidr === inner.range);
    const innerWhat = innerRow ? `, ${innerRow.what}` : "";
    return `${ip} is ${row.what} (${row.cidr}) for ${who}${innerWhat}; ${PUBLIC_ONLY}`;
  }
  return `${ip} is ${row.what} (${row.cidr}) for ${who}; relaycheck refuses such addresses: test ${v4} itself`;
}

function embeddedIpv4(address: ipaddr.IPv6, where: NonNullable<RangeRow["embeds"]>): ipaddr.IPv4 {
  const p = address.parts;
  const [hi, lo] =
    where === "6to4"
      ? [p[1] ?? 0, p[2] ?? 0]
      : where === "teredo"
        ? [~(p[6] ?? 0) & 0xffff, ~(p[7] ?? 0) & 0xffff] // RFC 4380: the client address is stored inverted
        : [p[6] ?? 0, p[7] ?? 0];
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** Dotted-decimal IPv4 or IPv6 without a zone; anything else is null (and so refused). */
function parseAddress(text: unknown): Address | null {
  if (typeof text !== "string") return null;
  const family = isIP(text);
  try {
    if (family === 4 && ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
    // Through the URL parser's hex form first: ipaddr.js reads `::1.2.3.4` as `::ffff:1.2.3.4`.
    if (family === 6 && !text.includes("%")) return ipaddr.IPv6.parse(new URL(`http://[${text}]/`).hostname.slice(1, -1));
  } catch {
    return null;
  }
  return null;
}

function inRange(address: Address, [network, bits]: Range): boolean {
  if (address.kind() !== network.kind()) return false;
  return address.kind() === "ipv4"
    ? (address as ipaddr.IPv4).match(network as ipaddr.IPv4, bits)
    : (address as ipaddr.IPv6).match(network as ipaddr.IPv6, bits);
}

function parseAllowEntry(entry: string): { cidr: string; range: Range } {
  const example = "e.g. 127.0.0.0/8, 10.1.2.3 or ::1";
  const [addressText = "", bitsText, ...more] = entry.split("/");
  const address = parseAddress(addressText);
  if (!address || more.length > 0) {
    throw new TargetPolicyConfigError(`Allow-list entry “${safe(entry)}” is not an IP address or CIDR range (${example}; IPv4 in dotted decimal).`);
  }
  const maxBits = address.kind() === "ipv4" ? 32 : 128;
  if (bitsText !== undefined && !/^(?:0|[1-9][0-9]{0,2})$/.test(bitsText)) {
    throw new TargetPolicyConfigError(`Allow-list entry “${safe(entry)}” has an invalid prefix length “/${safe(bitsText)}” (${example}).`);
  }
  const bits = bitsText === undefined ? maxBits : Number(bitsText);
  if (bits > maxBits) {
    throw new TargetPolicyConfigError(`Allow-list entry “${safe(entry)}”: the prefix length is at most ${maxBits} for this address family.`);
  }
  if (bits === 0) {
    throw new TargetPolicyConfigError(`Allow-list entry “${safe(entry)}” would allow every address and switch the target policy off; list the ranges you need.`);
  }
  const network = address.kind() === "ipv4"
    ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
  if (network.toString() !== address.toString()) {
    throw new TargetPolicyConfigError(`Allow-list entry “${safe(entry)}” has host bits set; did you mean ${network.toString()}/${bits}?`);
  }
  return { cidr: `${address.toString()}/${bits}`, range: [address, bits] };
}

function portReason(port: number, extraPorts: readonly number[]): string {
  const extra = extraPorts.length > 0 ? ` and the operator's ports ${extraPorts.join(", ")}` : "";
  return `port ${safe(String(port))} is not an SMTP port; relaycheck connects only to ports 25, 465 and 587${extra}`;
}

function isPortNumber(port: unknown): port is number {
  return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** Text from outside as it may appear in a reason: printable, short. */
function safe(text: unknown): string {
  const s = String(text).replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, "?");
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
