/**
 * How long the engine takes per server for all cases, against real Postfix (closed and open
 * relay, default error limits) and an smtp-server fake, on loopback. Run by hand:
 *
 *   npx tsx bench/probe-speed.ts [--runs 20] [--naive]
 *
 * `--naive` also runs every case in one session, one at a time (the nmap way), to show what the
 * session split saves against Postfix's error throttling (takes ~30 s).
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { SMTPServer } from "smtp-server";
import { probe, type ProbeOptionsInput } from "@/lib/probe";
import { normalizeTarget } from "@/lib/probe/target";
import { postfixAvailable, startPostfix } from "@/tests/support/postfix";
import { startDnsServer } from "@/tests/support/dns-server";
import { selfSignedCert } from "@/tests/fakes/tls-cert";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" }, naive: { type: "boolean", default: false } } });
const runs = Number(values.runs);

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(1)} ms  p90 ${q(0.9).toFixed(1)} ms  min ${s[0]!.toFixed(1)} ms  max ${s[s.length - 1]!.toFixed(1)} ms`;
}

async function measure(name: string, host: string, port: number, dns: string, extra: Partial<ProbeOptionsInput> = {}, n = runs): Promise<void> {
  const totals: number[] = [];
  let summary = "";
  for (let i = 0; i < n; i++) {
    const report = await probe(normalizeTarget(host), { ports: [port], dnsServers: [dns], addressPolicy: () => ({ allowed: true }), ...extra });
    const server = report.servers[0]!;
    totals.push(server.timings.totalMs);
    const counts = server.cases.reduce<Record<string, number>>((acc, c) => ((acc[c.outcome] = (acc[c.outcome] ?? 0) + 1), acc), {});
    summary = `${report.verdict}; ${server.cases.length} cases ${JSON.stringify(counts)}; ${server.sessions.length} sessions; TLS ${server.tls?.protocol ?? "none"}`;
  }
  console.log(`${name.padEnd(34)} ${stats(totals)}  (${n} runs)\n${"".padEnd(34)} ${summary}`);
}

const dns = await startDnsServer({});
const fake = new SMTPServer({
  disableReverseLookup: true, authOptional: true, logger: false,
  onRcptTo: (_a, _s, cb) => cb(Object.assign(new Error("5.7.1 Relaying denied"), { responseCode: 554 })),
});
fake.listen(0, "127.0.0.1");
await once(fake.server, "listening");
const fakePort = (fake.server.address() as { port: number }).port;

try {
  await measure("smtp-server fake (closed, TLS)", "127.0.0.1", fakePort, dns.address);
  const available = postfixAvailable();
  if (!available.ok) {
    console.log(`Postfix not measured: ${available.reason}`);
  } else {
    // A STARTTLS-capable closed instance too: TLS 1.3 per session is where Nagle's algorithm hurts.
    const pem = selfSignedCert("mx.tls.test");
    const certDir = mkdtempSync(path.join(os.tmpdir(), "relaycheck-bench-"));
    writeFileSync(path.join(certDir, "key.pem"), pem.key, { mode: 0o600 });
    writeFileSync(path.join(certDir, "cert.pem"), pem.cert);
    const closed = await startPostfix({ preset: "closed" });
    const open = await startPostfix({ preset: "open" });
    const tlsClosed = await startPostfix({
      preset: "closed",
      myhostname: "mx.tls.test",
      domain: "tls.test",
      main: { smtpd_tls_security_level: "may", smtpd_tls_cert_file: path.join(certDir, "cert.pem"), smtpd_tls_key_file: path.join(certDir, "key.pem") },
    });
    try {
      await measure("Postfix closed (default limits)", closed.host, 25, dns.address);
      await measure("Postfix closed, STARTTLS", tlsClosed.host, 25, dns.address);
      await measure("Postfix open relay", open.host, 25, dns.address, {}, Math.min(runs, 5));
      const cli = path.resolve(import.meta.dirname, "../bin/relaycheck.mjs");
      const started = performance.now();
      await promisify(execFile)(process.execPath, [cli, closed.host, "--allow", "127.0.0.0/8", "--dns", dns.address, "--json"]).catch((e: { code?: number }) => e);
      console.log(`${"CLI end to end (closed Postfix)".padEnd(34)} ${(performance.now() - started).toFixed(0)} ms (process start included)`);
      if (values.naive) {
        await measure("Postfix closed, one session (naive)", closed.host, 25, dns.address, { limits: { maxCasesPerSession: 100, maxParallelSessions: 1 } }, 1);
      }
    } finally {
      await closed.close();
      await open.close();
      await tlsClosed.close();
    }
  }
} finally {
  fake.close();
  await dns.close();
}
