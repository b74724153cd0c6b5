/**
 * The engine against hostile servers: each ends with its own ConnectionStatus within the
 * configured timeouts, nothing is thrown, what the server sent stays text, and the server's
 * connections are freed (the fake sees the client go).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionStatus } from "@/lib/probe";
import { startHostile, type HostileBehaviour, type HostileServer } from "@/tests/fakes/hostile";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { expectNoData, hasControlCharacters, probeFake } from "./helpers";

const TIMEOUTS = { connectMs: 1_000, greetingMs: 1_000, commandMs: 1_000, tlsHandshakeMs: 1_000, serverTotalMs: 5_000, dnsMs: 1_000 };
/** Slack over serverTotalMs for the last timer to fire and the report to be built. */
const SLACK_MS = 2_000;

let dns: LocalDnsServer;
const servers: HostileServer[] = [];

beforeAll(async () => {
  dns = await startDnsServer({});
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await dns?.close();
});

const cases: [string, ConnectionStatus, HostileBehaviour][] = [
  ["never sends a greeting", "timeout", { kind: "silent" }],
  ["sends one byte per 50 ms forever", "timeout", { kind: "trickle", intervalMs: 50 }],
  ["answers EHLO with 250- lines forever", "protocol-error", { kind: "endless-reply" }],
  ["sends a 1 MB line without LF", "protocol-error", { kind: "long-line", bytes: 1024 * 1024 }],
  ["sends a 10 MB line without LF", "protocol-error", { kind: "long-line", bytes: 10 * 1024 * 1024 }],
  ["sends binary junk and invalid UTF-8", "protocol-error", { kind: "junk" }],
  ["resets mid-greeting", "reset", { kind: "reset-mid-reply", during: "greeting" }],
  ["resets mid-EHLO reply", "reset", { kind: "reset-mid-reply", during: "ehlo" }],
];

describe("engine against hostile servers", () => {
  it.each(cases)("a server that %s → %s", async (_title, status, behaviour) => {
    const s = await startHostile(behaviour);
    servers.push(s);
    const { report, server } = await probeFake(s, dns.address, { timeouts: TIMEOUTS });
    expect(server.status).toBe(status);
    expect(["unreachable", "inconclusive"]).toContain(report.verdict);
    expect(report.verdict).toBe(server.verdict);
    expect(report.durationMs).toBeLessThan(TIMEOUTS.serverTotalMs + SLACK_MS);
    expect(server.statusDetail).toEqual(expect.any(String));
    for (const c of server.cases) expect(["error", "skipped"], c.id).toContain(c.outcome);
    // Everything the server sent is kept as bounded text.
    for (const l of server.transcript) {
      expect(typeof l.line).toBe("string");
      expect(l.line.length).toBeLessThanOrEqual(64 * 1024);
    }
    expect(JSON.stringify(report).length).toBeLessThan(2 * 1024 * 1024);
    expectNoData(server, s.log);
    // The engine hung up; the server saw it go and stopped writing.
    await s.idle();
  });

  it("junk: the bytes are shown, control characters made visible", async () => {
    const s = await startHostile({ kind: "junk" });
    servers.push(s);
    const { server } = await probeFake(s, dns.address, { timeouts: TIMEOUTS });
    const text = server.transcript.map((l) => l.line).join("\n") + (server.statusDetail ?? "");
    expect(hasControlCharacters(text)).toBe(false);
  });
});
