/**
 * Hostile servers at scale: starts one raw server per hostile behaviour on loopback, runs many
 * checks against them at once (100 by default), and prints each behaviour's status and time,
 * and the process's peak RSS. Run by hand:
 *
 *   npx tsx bench/hostile-rss.ts [--checks 100] [--timeout 3]
 *
 * The caps under test are the engine's defaults (line, reply and transcript sizes); the timeouts
 * are shortened by --timeout so the run takes seconds, not minutes.
 */
import net from "node:net";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { probe, type CheckReport } from "@/lib/probe";
import { normalizeTarget } from "@/lib/probe/target";
import { startDnsServer } from "@/tests/support/dns-server";

const { values } = parseArgs({ options: { checks: { type: "string", default: "100" }, timeout: { type: "string", default: "3" } } });
const checks = Number(values.checks);
const timeoutMs = Number(values.timeout) * 1000;

type Behaviour = (socket: net.Socket) => void;

const endless = (socket: net.Socket, chunk: string) => {
  const pump = () => {
    while (!socket.destroyed && socket.write(chunk));
    if (!socket.destroyed) socket.once("drain", pump);
  };
  pump();
};

const onLine = (socket: net.Socket, fn: (line: string) => void) => {
  let buf = "";
  socket.on("data", (d) => {
    buf += d.toString("latin1");
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      fn(buf.slice(0, i).trim());
      buf = buf.slice(i + 1);
    }
  });
};

const BEHAVIOURS: Record<string, Behaviour> = {
  "never greets": () => {},
  "one byte a second": (s) => {
    const text = "220 slow.example ESMTP\r\n";
    let i = 0;
    const timer = setInterval(() => (s.destroyed ? clearInterval(timer) : s.write(text[i++ % text.length]!)), 1000);
    s.on("close", () => clearInterval(timer));
  },
  "endless multi-line reply": (s) => {
    s.write("220 hi\r\n");
    onLine(s, () => endless(s, "250-this never ends\r\n"));
  },
  "10 MB line": (s) => {
    s.write("220 hi\r\n");
    onLine(s, () => s.write(`250 ${"A".repeat(10 * 1024 * 1024)}\r\n`));
  },
  "binary junk": (s) => endless(s, "\x00\xff\x1b[2J\xfe\xfd junk without newline "),
  "invalid UTF-8 replies": (s) => {
    const junk = Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff, 0x00, 0x1b]);
    s.write(Buffer.concat([Buffer.from("220 "), junk, Buffer.from(" ok\r\n")]));
    onLine(s, (line) => {
      const code = /^RCPT/i.test(line) ? "554" : /^QUIT/i.test(line) ? "221" : "250";
      s.write(Buffer.concat([Buffer.from(`${code} `), junk, Buffer.from("\r\n")]));
    });
  },
  "TLS handshake stalls": (s) => {
    s.write("220 tls.example ESMTP\r\n");
    onLine(s, (line) => {
      if (/^EHLO/i.test(line)) s.write("250-tls.example\r\n250 STARTTLS\r\n");
      else if (/^STARTTLS/i.test(line)) s.write("220 go ahead\r\n"); // then silence: no TLS
      else if (/^QUIT/i.test(line)) s.end("221 bye\r\n");
      else if (/^HELO|^RSET/i.test(line)) s.write("250 ok\r\n");
    });
  },
  "reset mid-reply": (s) => {
    s.write("220 hi\r\n");
    onLine(s, () => {
      s.write("250-half a reply\r\n250-and");
      setImmediate(() => s.resetAndDestroy());
    });
  },
  "HTML and script in replies": (s) => {
    s.write('220 <script>alert("x")</script><img src=x onerror=alert(1)> ESMTP\r\n');
    onLine(s, (line) => {
      if (/^QUIT/i.test(line)) s.end("221 <b>bye</b>\r\n");
      else if (/^RCPT/i.test(line)) s.write("554 5.7.1 <script>document.cookie</script> relay denied\r\n");
      else s.write("250 <iframe src=javascript:alert(1)>\r\n");
    });
  },
};

const servers: net.Server[] = [];
const targets: { name: string; ip: string }[] = [];
let octet = 200;
for (const [name, behaviour] of Object.entries(BEHAVIOURS)) {
  const ip = `127.0.0.${octet++}`;
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    behaviour(socket);
  });
  server.listen(25, ip);
  await once(server, "listening");
  servers.push(server);
  targets.push({ name, ip });
}
const dns = await startDnsServer({});

let peak = process.memoryUsage().rss;
const baseline = peak;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const started = performance.now();
const results = await Promise.all(
  Array.from({ length: checks }, async (_, i) => {
    const target = targets[i % targets.length]!;
    const t0 = performance.now();
    const report: CheckReport = await probe(normalizeTarget(target.ip), {
      dnsServers: [dns.address],
      addressPolicy: () => ({ allowed: true }),
      timeouts: { connectMs: timeoutMs, greetingMs: timeoutMs, commandMs: timeoutMs, tlsHandshakeMs: timeoutMs, serverTotalMs: timeoutMs * 4, dnsMs: 1000 },
    });
    return { name: target.name, ms: performance.now() - t0, report };
  }),
);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);

console.log(`${checks} checks against ${targets.length} hostile behaviours in ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(`RSS before ${(baseline / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB (+${((peak - baseline) / 2 ** 20).toFixed(0)} MiB)\n`);
for (const { name } of targets) {
  const mine = results.filter((r) => r.name === name);
  const r = mine[0]!.report;
  const s = r.servers[0];
  const statuses = [...new Set(s?.sessions.map((x) => x.status) ?? [])].join(",");
  const maxMs = Math.max(...mine.map((m) => m.ms));
  const bytes = s ? s.transcript.reduce((n, l) => n + l.line.length, 0) : 0;
  console.log(`${name.padEnd(28)} verdict ${r.verdict.padEnd(14)} status ${(s?.status ?? "-").padEnd(16)} sessions ${statuses.padEnd(28)} max ${(maxMs / 1000).toFixed(1)} s  transcript ${bytes} chars`);
  if (name.startsWith("HTML")) console.log(`${"".padEnd(28)} banner kept as text: ${JSON.stringify(s?.banner)}`);
}
for (const s of servers) s.close();
await dns.close();
process.exit(0);
