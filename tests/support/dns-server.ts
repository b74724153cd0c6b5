/**
 * A tiny authoritative DNS server for tests, on 127.0.0.1 (UDP and TCP on the same ephemeral
 * port), so the engine's resolution path runs for real without ever asking the system resolver.
 *
 * Semantics of the zone:
 * - a name that appears nowhere in the zone → NXDOMAIN;
 * - a known name asked for a type it lacks → NOERROR with no answer (NODATA);
 * - PTR names (in-addr.arpa / ip6.arpa) are derived from the keys of `ptr`;
 * - `nullMx` names answer `MX 0 .` (RFC 7505);
 * - `noAnswer` questions are logged and never answered (a server that drops them: the client
 *   can only time out);
 * - `delayMs` holds the answers about a name that long, as a slow authoritative server would
 *   (keys are names; an IP key stands for its reverse name).
 */
import net from "node:net";
import dns2 from "dns2";
import type { Packet as DnsPacket, Resource as DnsResource } from "dns2";

const { Packet } = dns2;

export interface MxRecord {
  exchange: string;
  priority: number;
}

export interface DnsZone {
  mx?: Record<string, MxRecord[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
  /** Keys are IP addresses (v4 or v6); values the PTR names. */
  ptr?: Record<string, string[]>;
  /** Domains that publish a null MX (`MX 0 .`). */
  nullMx?: string[];
  /** Questions never answered, by type: e.g. `{ aaaa: ["mx1.slow.test"] }` hangs that AAAA lookup. */
  noAnswer?: Partial<Record<"mx" | "a" | "aaaa" | "ptr", string[]>>;
  /** Answers about these names (or the reverse names of these IPs) leave this long after the question. */
  delayMs?: Record<string, number>;
}

export interface DnsQueryLogEntry {
  name: string;
  type: string;
  transport: "udp" | "tcp";
}

export interface LocalDnsServer {
  /** "127.0.0.1:PORT", ready for `Resolver#setServers`. */
  address: string;
  host: string;
  port: number;
  /** Every question received, in order. */
  queries: DnsQueryLogEntry[];
  close(): Promise<void>;
}

const TTL = 60;
/** RFC 1035 response codes (dns2 has them at runtime, not in its types). */
const RCODE = { FORMERR: 1, NXDOMAIN: 3 } as const;

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** The reverse-lookup name of an IP: 1.0.0.127.in-addr.arpa or the nibble form for IPv6. */
export function reverseName(ip: string): string {
  if (net.isIPv4(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  if (!net.isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  return `${expandIpv6(ip).replace(/:/g, "").split("").reverse().join(".")}.ip6.arpa`;
}

function expandIpv6(ip: string): string {
  const [head = "", tail] = ip.split("::");
  const headParts = head ? head.split(":") : [];
  const tailParts = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(tail !== undefined ? missing : 0).fill("0"), ...tailParts];
  return parts.map((p) => p.padStart(4, "0")).join(":");
}

/** What the zone holds for one name, by record type. */
interface NameRecords {
  mx: MxRecord[];
  a: string[];
  aaaa: string[];
  ptr: string[];
}

function compileZone(zone: DnsZone): Map<string, NameRecords> {
  const names = new Map<string, NameRecords>();
  const entry = (name: string): NameRecords => {
    const key = canonical(name);
    let e = names.get(key);
    if (!e) {
      e = { mx: [], a: [], aaaa: [], ptr: [] };
      names.set(key, e);
    }
    return e;
  };
  for (const [name, records] of Object.entries(zone.mx ?? {})) entry(name).mx.push(...records);
  for (const name of zone.nullMx ?? []) entry(name).mx.push({ exchange: ".", priority: 0 });
  for (const [name, addrs] of Object.entries(zone.a ?? {})) entry(name).a.push(...addrs);
  for (const [name, addrs] of Object.entries(zone.aaaa ?? {})) entry(name).aaaa.push(...addrs);
  for (const [ip, ptrs] of Object.entries(zone.ptr ?? {})) entry(reverseName(ip)).ptr.push(...ptrs);
  return names;
}

function answer(names: Map<string, NameRecords>, request: DnsPacket): DnsPacket {
  const response = Packet.createResponseFromRequest(request);
  response.header.aa = 1;
  const [question] = request.questions;
  if (!question) {
    response.header.rcode = RCODE.FORMERR;
    return response;
  }
  const records = names.get(canonical(question.name));
  if (!records) {
    response.header.rcode = RCODE.NXDOMAIN;
    return response;
  }
  const rr = (record: Partial<DnsResource>) => Packet.createResourceFromQuestion(question, { class: Packet.CLASS.IN, ttl: TTL, ...record });
  switch (question.type) {
    case Packet.TYPE.MX:
      for (const mx of records.mx) response.answers.push(rr({ type: Packet.TYPE.MX, exchange: mx.exchange, priority: mx.priority }));
      break;
    case Packet.TYPE.A:
      for (const address of records.a) response.answers.push(rr({ type: Packet.TYPE.A, address }));
      break;
    case Packet.TYPE.AAAA:
      for (const address of records.aaaa) response.answers.push(rr({ type: Packet.TYPE.AAAA, address }));
      break;
    case Packet.TYPE.PTR:
      for (const domain of records.ptr) response.answers.push(rr({ type: Packet.TYPE.PTR, domain }));
      break;
    default:
      break; // NODATA
  }
  return response;
}

function typeName(type: number): string {
  const found = Object.entries(Packet.TYPE).find(([, v]) => v === type);
  return found ? found[0] : String(type);
}

/** Starts the server on 127.0.0.1, UDP and TCP on one ephemeral port. */
export async function startDnsServer(zone: DnsZone): Promise<LocalDnsServer> {
  const names = compileZone(zone);
  const silent = new Set(Object.entries(zone.noAnswer ?? {}).flatMap(([type, list]) => list.map((name) => `${type.toUpperCase()} ${canonical(name)}`)));
  const delays = new Map(Object.entries(zone.delayMs ?? {}).map(([name, ms]) => [net.isIP(name) ? reverseName(name) : canonical(name), ms]));
  const queries: DnsQueryLogEntry[] = [];
  const handler =
    (transport: "udp" | "tcp") =>
    (request: DnsPacket, send: (response: DnsPacket) => Promise<Buffer>): void => {
      for (const q of request.questions) queries.push({ name: canonical(q.name), type: typeName(q.type), transport });
      const [question] = request.questions;
      if (question && silent.has(`${typeName(question.type)} ${canonical(question.name)}`)) return;
      const reply = () =>
        void send(answer(names, request)).catch(() => {
          // the client went away: nothing to answer to
        });
      const delay = question ? delays.get(canonical(question.name)) : undefined;
      if (!delay) return reply();
      const timer = setTimeout(() => {
        delayed.delete(timer);
        reply();
      }, delay);
      delayed.add(timer);
    };
  const delayed = new Set<NodeJS.Timeout>();

  for (let attempt = 0; ; attempt++) {
    const udp = dns2.createUDPServer(handler("udp"));
    const port = await new Promise<number>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(0, "127.0.0.1", () => {
        udp.off("error", reject);
        resolve(udp.address().port);
      });
    });
    const tcp = dns2.createTCPServer(handler("tcp"));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, "127.0.0.1", () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      // The TCP side of this port is taken by someone else: try another port.
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if (attempt >= 10) throw error;
      continue;
    }
    const sockets = new Set<net.Socket>();
    tcp.on("connection", (s: net.Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    let closed: Promise<void> | null = null;
    return {
      address: `127.0.0.1:${port}`,
      host: "127.0.0.1",
      port,
      queries,
      close() {
        for (const timer of delayed) clearTimeout(timer);
        delayed.clear();
        closed ??= Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => {
            for (const s of sockets) s.destroy();
            tcp.close(() => resolve());
          }),
        ]).then(() => undefined);
        return closed;
      },
    };
  }
}
