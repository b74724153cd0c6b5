/**
 * Shared pieces of the end-to-end engine tests: options that keep everything on loopback, a
 * policy that allows exactly the fakes' addresses and ports, and the checks every report must
 * pass whatever the server did.
 */
import net from "node:net";
import { expect } from "vitest";
import { normalizeTarget, probe, type AddressPolicy, type CheckReport, type NormalizedTarget, type ProbeOptionsInput, type ServerReport } from "@/lib/probe";
import type { FakeLog, FakeServer } from "@/tests/fakes/types";

/** Allows 127.0.0.0/8 and ::1 on the given ports only; everything else is refused. */
export function loopbackPolicy(ports: number[], refuse: string[] = []): AddressPolicy {
  return (ip, port) => {
    if (refuse.includes(ip)) return { allowed: false, reason: `${ip} is refused by this test's policy` };
    const loopback = (net.isIPv4(ip) && ip.startsWith("127.")) || ip === "::1";
    if (!loopback) return { allowed: false, reason: `${ip} is not loopback: tests never leave this machine` };
    if (!ports.includes(port)) return { allowed: false, reason: `port ${port} is not a test port` };
    return { allowed: true };
  };
}

/** A test domain (`closed.test`): reserved names are refused unless the caller allows them. */
export function testTarget(name: string): NormalizedTarget {
  return normalizeTarget(name, { allowReservedNames: true });
}

export const FAST_TIMEOUTS = {
  connectMs: 2_000,
  greetingMs: 3_000,
  commandMs: 2_000,
  tlsHandshakeMs: 2_000,
  serverTotalMs: 20_000,
  dnsMs: 2_000,
  /** Temporary refusals are retried after this pause (3 s by default). */
  retryPauseMs: 100,
} as const;

/** Options for one fake: its port, a local DNS server (also for IP targets: PTR lookups). */
export function optionsFor(ports: number[], dnsServer: string, extra: Partial<ProbeOptionsInput> = {}): ProbeOptionsInput {
  return {
    ports,
    dnsServers: [dnsServer],
    addressPolicy: loopbackPolicy(ports),
    ...extra,
    timeouts: { ...FAST_TIMEOUTS, ...extra.timeouts },
  };
}

/** Probes a fake by its IP; the report and the events seen. */
export async function probeFake(fake: Pick<FakeServer, "host" | "port">, dnsServer: string, extra: Partial<ProbeOptionsInput> = {}) {
  const events: string[] = [];
  const report = await probe(fake.host, optionsFor([fake.port], dnsServer, extra), (e) => events.push(e.type));
  return { report, events, server: onlyServer(report) };
}

export function onlyServer(report: CheckReport): ServerReport {
  expect(report.servers).toHaveLength(1);
  return report.servers[0]!;
}

export function caseById(server: ServerReport, id: string) {
  const c = server.cases.find((x) => x.id === id);
  if (!c) throw new Error(`no case ${id}; cases: ${server.cases.map((x) => x.id).join(", ")}`);
  return c;
}

/** The case ids the engine must always run (issue 2: nmap's 16 forms and our own additions). */
export const SENDER_CASE_IDS = ["third-party", "null-sender", "sender-server-name", "sender-ip-literal", "sender-recipient-domain", "sender-unqualified"];
export const RECIPIENT_CASE_IDS = [
  "percent-hack-ip-literal",
  "percent-hack-server-name",
  "quoted-at",
  "quoted-percent",
  "double-at-ip-literal",
  "quoted-at-ip-literal",
  "double-at-server-name",
  "source-route-ip-literal",
  "source-route-server-name",
  "bang-path",
  "bang-path-ip-literal",
  "bang-path-server-name",
  "trailing-at",
];
/** Recipient tricks a `%`/`!`/`@@`-vulnerable server accepts (all but source routes). */
export const TRICK_CASE_IDS = RECIPIENT_CASE_IDS.filter((id) => !id.startsWith("source-route"));

const OUTCOMES = ["accepted", "rejected", "tempfail", "error", "skipped"];

/**
 * What holds for every report of a server we could talk to: every case has an outcome and its
 * exact MAIL FROM / RCPT TO; the commands the fake logged are exactly those; no DATA anywhere.
 */
export function expectWellFormedCases(server: ServerReport, log?: FakeLog): void {
  const ids = server.cases.map((c) => c.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(expect.arrayContaining([...SENDER_CASE_IDS, ...RECIPIENT_CASE_IDS, "baseline-postmaster"]));
  for (const c of server.cases) {
    expect(OUTCOMES, c.id).toContain(c.outcome);
    expect(typeof c.mailFrom, c.id).toBe("string");
    expect(c.rcptTo.length, c.id).toBeGreaterThan(0);
    if (c.outcome === "accepted" || c.outcome === "rejected" || c.outcome === "tempfail") {
      expect(c.reply, c.id).not.toBeNull();
      expect(c.stage, c.id).toMatch(/^(mail|rcpt)$/);
      if (log) {
        const lines = log.commands.map((x) => x.line);
        expect(lines.some((l) => l === `MAIL FROM:<${c.mailFrom}>` || l.startsWith(`MAIL FROM:<${c.mailFrom}> `)), `${c.id}: MAIL FROM:<${c.mailFrom}>`).toBe(true);
        if (c.stage === "rcpt") expect(lines.some((l) => l === `RCPT TO:<${c.rcptTo}>` || l.startsWith(`RCPT TO:<${c.rcptTo}> `)), `${c.id}: RCPT TO:<${c.rcptTo}>`).toBe(true);
      }
    }
  }
  expectNoData(server, log);
}

/** No DATA (nor BDAT) was sent: neither in the engine's transcript nor at the fake. */
export function expectNoData(server: ServerReport, log?: FakeLog): void {
  const sent = server.transcript.filter((l) => l.dir === "client").map((l) => l.line.toUpperCase());
  expect(sent.filter((l) => l.startsWith("DATA") || l.startsWith("BDAT"))).toEqual([]);
  if (log) {
    expect(log.dataAttempts).toBe(0);
    expect(log.commands.filter((c) => /^(DATA|BDAT)\b/i.test(c.line))).toEqual([]);
  }
}

/** Error replies (4xx/5xx, last line of each reply) per session, from the engine's transcript. */
export function errorRepliesPerSession(server: ServerReport): Map<number, number> {
  const counts = new Map<number, number>();
  for (const l of server.transcript) {
    if (l.dir !== "server" || !/^[45]\d\d( |$)/.test(l.line)) continue;
    counts.set(l.session, (counts.get(l.session) ?? 0) + 1);
  }
  return counts;
}

export function evidenceIds(server: ServerReport): string[] {
  return server.cases.filter((c) => c.evidence).map((c) => c.id);
}

/** C0 controls other than TAB/LF/CR, DEL: what a report must never pass through raw. */
export function hasControlCharacters(text: string): boolean {
  return [...text].some((ch) => {
    const c = ch.charCodeAt(0);
    return (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f;
  });
}
