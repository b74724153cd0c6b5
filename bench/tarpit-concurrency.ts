/**
 * I/O-bound concurrency: many checks of tarpit SMTP servers (every reply held back, as Postfix
 * does past its error limits) through the real service, with ONE worker process, at
 * WORKER_CONCURRENCY: today's default beside the new one. Prints per setting the checks finished,
 * the throughput, the worker's peak RSS, its event-loop lag, how long a finished probe took to be
 * stored (PostgreSQL pool pressure) and how often a database write had to be retried. Today's
 * setting (4, plain `node`) beside the new one (lib/env.ts's default, worker/node-flags.ts). Run by hand:
 *
 *   npx tsx bench/tarpit-concurrency.ts [--checks 200] [--concurrency 200] [--budget 30]
 *                                      [--reply-delay 1000] [--max-seconds 150]
 *
 * --budget is the probe's time budget per server (PROBE_SERVER_TOTAL_MS, 90 s in production): a
 * tarpit check uses all of it, so throughput scales with 1/budget and the ratios hold. A setting
 * stops after --max-seconds even if checks are left (today's default would need many minutes).
 *
 * The tarpits are 210 scripted fakes: 30 loopback addresses (127.0.0.140–169) × 7 ports; the
 * per-server probe cap (RELAYCHECK_MAX_CHECKS_PER_SERVER) is set to the ports per address, so each
 * check gets its own server's slot as in production, where 200 checks mean 200 different servers.
 * Prepares what it needs like `npm test` (PostgreSQL, Redis, a migrated database, the build).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { prepareBench } from "./prepare-bench";
import { freePort, startService } from "@/tests/support/service";
import { startDnsServer } from "@/tests/support/dns-server";
import { startTarpit } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { parsePrometheusText } from "@/tests/service/parse-prometheus";
import { WORKER_NODE_FLAGS } from "@/worker/node-flags";
import { parseEnv } from "@/lib/env";

const { values } = parseArgs({
  options: {
    checks: { type: "string", default: "200" },
    /** The new setting's WORKER_CONCURRENCY (default: lib/env.ts's default). */
    concurrency: { type: "string" },
    budget: { type: "string", default: "30" },
    "reply-delay": { type: "string", default: "1000" },
    "max-seconds": { type: "string", default: "150" },
    /** Which settings to run: today, new or both. */
    settings: { type: "string", default: "today,new" },
  },
});
const CHECKS = Number(values.checks);
/** Today's default (before issue 10) beside the new one: concurrency and the worker's Node flags. */
const SETTINGS: Setting[] = [
  { label: "today", concurrency: 4, flags: [] },
  { label: "new", concurrency: Number(values.concurrency ?? parseEnv({ DATABASE_URL: "postgresql://x", IP_HASH_SECRET: "x".repeat(32) }).WORKER_CONCURRENCY), flags: WORKER_NODE_FLAGS },
].filter((s) => values.settings.split(",").includes(s.label));
const BUDGET_MS = Number(values.budget) * 1000;
const REPLY_DELAY_MS = Number(values["reply-delay"]);
const MAX_MS = Number(values["max-seconds"]) * 1000;
const ROOT = path.resolve(import.meta.dirname, "..");
const ADDRESSES = Array.from({ length: 30 }, (_, i) => `127.0.0.${140 + i}`);
const PORTS = Array.from({ length: 7 }, (_, i) => 10025 + i);

interface Setting {
  label: string;
  concurrency: number;
  flags: string[];
}

interface Result {
  label: string;
  flags: string;
  concurrency: number;
  finished: number;
  failed: number;
  seconds: number;
  perMinute: number;
  peakRssMb: number;
  /** V8 heap in use and memory outside it (buffers, wasm) at the highest RSS sample. */
  heapMb: number;
  externalMb: number;
  maxRunning: number;
  lagP99Ms: number;
  lagMaxMs: number;
  storeLagP50Ms: number;
  storeLagMaxMs: number;
  writeRetries: number;
  /** Failed checks by error code. */
  failures: string;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

async function runSetting({ label, concurrency, flags }: Setting, targets: string[], dnsAddress: string): Promise<Result> {
  const service = await startService({
    worker: false,
    dnsServers: [dnsAddress],
    env: {
      LOG_LEVEL: "warn",
      CHECK_REUSE_WINDOW_SECONDS: "0",
      RELAYCHECK_EXTRA_PORTS: PORTS.join(","),
      RELAYCHECK_MAX_CHECKS_PER_SERVER: String(PORTS.length),
      RATE_LIMIT_SERVER_POINTS: "1000000",
      PROBE_SERVER_TOTAL_MS: String(BUDGET_MS),
    },
  });
  const metricsPort = await freePort();
  const worker: ChildProcess = spawn(process.execPath, [...flags, "--import", "tsx", path.join(ROOT, "worker", "main.ts")], {
    cwd: ROOT,
    env: { NODE_ENV: "test", PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...service.env, WORKER_CONCURRENCY: String(concurrency), WORKER_METRICS_PORT: String(metricsPort) },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  worker.stdout!.on("data", (b: Buffer) => (output += b.toString()));
  worker.stderr!.on("data", (b: Buffer) => (output += b.toString()));
  await new Promise<void>((resolve, reject) => {
    worker.on("message", (m: { type?: string }) => m?.type === "ready" && resolve());
    worker.once("exit", (code) => reject(new Error(`worker exited (${code}): ${output.slice(-2000)}`)));
  });
  const db = new pg.Client({ connectionString: service.env.DATABASE_URL });
  await db.connect();
  const lags: { p99: number; max: number }[] = [];
  let peakRss = 0;
  let atPeak = { rss: 0, heap: 0, external: 0 };
  let maxRunning = 0;
  try {
    const t0 = performance.now();
    // Ten POSTs at a time: the web process is not what is measured here.
    const queue = targets.slice(0, CHECKS).map((target, i) => ({ target, i }));
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [ip, port] = next.target.split(":");
          const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-forwarded-for": `198.51.${100 + (next.i >> 8)}.${next.i & 255}` },
            body: JSON.stringify({ target: ip, ports: [Number(port)] }),
          });
          if (res.status !== 202) throw new Error(`POST ${next.target}: ${res.status} ${await res.text()}`);
        }
      }),
    );
    let finished = 0;
    while (performance.now() - t0 < MAX_MS) {
      await new Promise((r) => setTimeout(r, 1000));
      const { rows } = await db.query<{ status: string; n: string }>("SELECT status, count(*) AS n FROM checks GROUP BY status");
      const count = (s: string) => Number(rows.find((r) => r.status === s)?.n ?? 0);
      finished = count("done") + count("failed");
      maxRunning = Math.max(maxRunning, count("running"));
      peakRss = Math.max(peakRss, memoryOf(worker.pid!).peak);
      const { samples } = parsePrometheusText(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
      const value = (name: string) => samples.find((m: { name: string }) => m.name === name)?.value ?? 0;
      const rssNow = memoryOf(worker.pid!).rss;
      if (rssNow > atPeak.rss) atPeak = { rss: rssNow, heap: value("nodejs_heap_size_used_bytes") / 2 ** 20, external: value("nodejs_external_memory_bytes") / 2 ** 20 };
      lags.push({ p99: value("nodejs_eventloop_lag_p99_seconds") * 1000, max: value("nodejs_eventloop_lag_max_seconds") * 1000 });
      if (finished >= CHECKS) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    const { rows: done } = await db.query<{ status: string; lag_ms: number | null; error_code: string | null }>(
      "SELECT status, error_code, EXTRACT(EPOCH FROM (finished_at - probe_finished_at::timestamptz)) * 1000 AS lag_ms FROM checks WHERE status IN ('done', 'failed')",
    );
    const codes = new Map<string, number>();
    for (const r of done) if (r.status === "failed") codes.set(r.error_code ?? "?", (codes.get(r.error_code ?? "?") ?? 0) + 1);
    const logFile = path.join(os.tmpdir(), `tarpit-concurrency-worker-${concurrency}.log`);
    fs.writeFileSync(logFile, output);
    const storeLags = done.map((r) => Number(r.lag_ms)).filter((x) => Number.isFinite(x));
    return {
      label,
      flags: flags.join(" ") || "(none)",
      concurrency,
      finished: done.filter((r) => r.status === "done").length,
      failed: done.filter((r) => r.status === "failed").length,
      seconds,
      perMinute: (done.length / seconds) * 60,
      peakRssMb: peakRss,
      heapMb: atPeak.heap,
      externalMb: atPeak.external,
      maxRunning,
      lagP99Ms: Math.max(...lags.map((l) => l.p99)),
      lagMaxMs: Math.max(...lags.map((l) => l.max)),
      storeLagP50Ms: quantile(storeLags, 0.5),
      storeLagMaxMs: quantile(storeLags, 1),
      writeRetries: (output.match(/storing events failed/g) ?? []).length,
      failures: [...codes].map(([code, n]) => `${code} ${n}`).join(", ") || "none",
    };
  } finally {
    await db.end();
    worker.kill("SIGKILL");
    await service.stop();
  }
}

async function main(): Promise<void> {
  const services = await prepareBench("relaycheck_bench_tarpit");

  const dns = await startDnsServer({});
  const fakes: FakeServer[] = [];
  const results: Result[] = [];
  try {
    for (const host of ADDRESSES) {
      for (const port of PORTS) {
        // Every reply (the greeting too) waits REPLY_DELAY_MS; never hangs up: the budget ends it.
        fakes.push(await startTarpit({ host, port, softLimit: 0, hardLimit: 1_000_000, sleepMs: REPLY_DELAY_MS, greetingDelayMs: REPLY_DELAY_MS, pipelining: false }));
      }
    }
    // Servers in turn, so that checks of one address are spread out like different servers.
    const targets = PORTS.flatMap((port) => ADDRESSES.map((host) => `${host}:${port}`));
    for (const setting of SETTINGS) {
      const { concurrency } = setting;
      const r = await runSetting(setting, targets, dns.address);
      results.push(r);
      console.error(`concurrency ${concurrency}: ${r.finished + r.failed}/${CHECKS} in ${r.seconds.toFixed(0)} s (worker log: ${path.join(os.tmpdir(), `tarpit-concurrency-worker-${concurrency}.log`)})`);
    }
  } finally {
    await Promise.all(fakes.map((f) => f.close()));
    await dns.close();
    await services.stop();
  }

  console.log(`${CHECKS} checks of tarpit servers (each reply ${REPLY_DELAY_MS} ms late, probe budget ${BUDGET_MS / 1000} s per server), one worker process:`);
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} at the end`);
  const rows: [string, (r: Result) => string][] = [
    ["", (r) => r.label],
    ["WORKER_CONCURRENCY", (r) => String(r.concurrency)],
    ["worker's Node flags", (r) => r.flags],
    ["checks finished (failed)", (r) => `${r.finished + r.failed}/${CHECKS} (${r.failed})`],
    ["time (s)", (r) => r.seconds.toFixed(0)],
    ["throughput (checks/min)", (r) => r.perMinute.toFixed(1)],
    ["most checks running at once", (r) => String(r.maxRunning)],
    ["worker peak RSS (MB)", (r) => r.peakRssMb.toFixed(0)],
    ["  V8 heap used / external (MB)", (r) => `${r.heapMb.toFixed(0)} / ${r.externalMb.toFixed(0)}`],
    ["event-loop lag p99 (ms, worst 1 s)", (r) => r.lagP99Ms.toFixed(1)],
    ["event-loop lag max (ms)", (r) => r.lagMaxMs.toFixed(1)],
    ["probe end → stored, median (ms)", (r) => r.storeLagP50Ms.toFixed(0)],
    ["probe end → stored, max (ms)", (r) => r.storeLagMaxMs.toFixed(0)],
    ["event writes retried (pool/DB)", (r) => String(r.writeRetries)],
    ["failed checks by code", (r) => r.failures],
  ];
  for (const [label, cell] of rows) console.log(`${label.padEnd(36)}${results.map((r) => cell(r).padStart(26)).join("")}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
