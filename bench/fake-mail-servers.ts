/**
 * The worker benchmarks' fake mail servers and DNS, in a child process of their own (so that
 * their CPU is not counted as the worker's): ten closed SMTP servers (tests/fakes/presets
 * `startClosed`: they greet, then refuse every relay) on 127.0.0.170–179 port 25, and a local
 * DNS server with the zone given. Loopback only.
 *
 *   const fakes = await startFakeMailServers({ mx: { … }, a: { … } });  // fakes.dns: "127.0.0.1:port"
 *   fakes.stop();
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import type { DnsZone } from "@/tests/support/dns-server";

export const FAKE_HOSTS = Array.from({ length: 10 }, (_, i) => ({ name: `mx${i}.bench.test`, ip: `127.0.0.${170 + i}` }));

export interface FakeMailServers {
  /** The DNS server's "ip:port". */
  dns: string;
  /** The child's process id (its CPU is the servers' and the DNS server's). */
  pid: number;
  /** Closes the child's servers and lets it exit. */
  stop(): void;
}

/** Starts the child; resolves once its servers listen. `zone`: the DNS answers (A records of FAKE_HOSTS added). */
export async function startFakeMailServers(zone: DnsZone): Promise<FakeMailServers> {
  const full: DnsZone = { ...zone, a: { ...Object.fromEntries(FAKE_HOSTS.map((h) => [h.name, [h.ip]])), ...zone.a } };
  const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, "--serve"], { stdio: ["pipe", "pipe", "inherit"] });
  child.stdin.write(`${JSON.stringify(full)}\n`);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`fake mail servers exited (${code})`)));
  });
  return { dns: (JSON.parse(line) as { dns: string }).dns, pid: child.pid!, stop: () => child.stdin.end() };
}

/** The child: reads the zone from its first stdin line, serves until stdin closes. */
async function serve(): Promise<void> {
  const { startDnsServer } = await import("@/tests/support/dns-server");
  const { startClosed } = await import("@/tests/fakes/presets");
  const lines = createInterface({ input: process.stdin });
  const zone = JSON.parse(await new Promise<string>((resolve) => lines.once("line", resolve))) as DnsZone;
  const dns = await startDnsServer(zone);
  const fakes = await Promise.all(FAKE_HOSTS.map((h) => startClosed({ host: h.ip, port: 25 })));
  console.log(JSON.stringify({ dns: dns.address }));
  lines.once("close", () => {
    void Promise.all([dns.close(), ...fakes.map((f) => f.close())]).then(() => process.exit(0));
  });
}

if (process.argv[2] === "--serve" && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  serve().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
