/**
 * Live events for a crowd: N viewers (SSE, each a client address of its own) of one running
 * check, fed by a writer that appends events at a steady rate through the worker's own writer
 * (PostgreSQL, then the Redis stream). Prints how many viewers connected, the delivery latency
 * (writer's append → viewer's receipt) p50/p99, the web process's RSS, the Redis reader
 * connections of the web process, and whether every viewer got every event exactly once.
 * Loopback only; bounded in viewers (≤ 5000) and time. Run by hand, not by tests:
 *
 *   npx tsx bench/sse-fan-out.ts [--viewers 1000|5000] [--rate 20] [--seconds 20] [--via node|next]
 *
 * `--via next` serves the streams through the Next route (as before the web server wrote them
 * itself, app/api/_lib/serve-events-node.ts): run both to compare memory and latency.
 *
 * BENCH_WEB_NODE_OPTIONS passes Node options to the web process (e.g. a `--require` that
 * profiles it). On a machine shared with other work, read the latencies with the load average
 * and the CPU figures it prints: "web CPU per delivery" is the figure that does not depend on it.
 *
 * Prepares what it needs like `npm test` (PostgreSQL and Redis found or started, a migrated
 * database of its own, the build). No worker runs: this process is the check's writer; the
 * viewers run in a child process of their own, so that their parsing does not delay the writer.
 */
import http from "node:http";
import { execFileSync, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { prepareBench } from "./prepare-bench";
import { startService } from "@/tests/support/service";
import { parseEnv } from "@/lib/env";
import { closeCheckServices, createCheckServices, type CheckStreamEvent } from "@/lib/checks";
import { recordCheckEvents } from "@/lib/checks/record-check-event";

const MAX_VIEWERS = 5000;
const MAX_SECONDS = 120;
/** Viewers that connect at once (a crowd arriving, not a SYN flood). */
const CONNECT_CONCURRENCY = 200;
const CONNECT_TIMEOUT_MS = 60_000;
const END_TIMEOUT_MS = 60_000;

const { values } = parseArgs({
  options: {
    viewers: { type: "string", default: "1000" },
    rate: { type: "string", default: "20" },
    seconds: { type: "string", default: "20" },
    via: { type: "string", default: "node" },
    // Internal: the viewers' child process.
    role: { type: "string", default: "main" },
    url: { type: "string" },
  },
});
const viewers = Math.min(MAX_VIEWERS, Math.max(1, Number(values.viewers)));
const rate = Math.min(200, Math.max(1, Number(values.rate)));
const seconds = Math.min(MAX_SECONDS, Math.max(1, Number(values.seconds)));

interface Viewer {
  status: number;
  lastId: number;
  duplicates: number;
  gaps: number;
  ended: boolean;
  sawTerminal: boolean;
  request: http.ClientRequest | null;
}

/** Delivery latencies in 1 ms buckets (a histogram: millions of deliveries, little memory). */
const HISTOGRAM_MS = 120_000;
const histogram = new Uint32Array(HISTOGRAM_MS + 1);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

/** One SSE viewer over node:http, parsing only what the figures need (ids, the writer's stamp). */
function connect(base: URL, path: string, n: number, onEnd: () => void): Promise<Viewer> {
  const v: Viewer = { status: 0, lastId: 0, duplicates: 0, gaps: 0, ended: false, sawTerminal: false, request: null };
  return new Promise((resolve) => {
    const req = http.get(
      { host: base.hostname, port: base.port, path, agent, headers: { accept: "text/event-stream", "x-forwarded-for": `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` } },
      (res) => {
        v.status = res.statusCode ?? 0;
        resolve(v);
        if (v.status !== 200) {
          res.resume();
          return;
        }
        res.setEncoding("utf8");
        let pending = "";
        res.on("data", (chunk: string) => {
          const now = performance.timeOrigin + performance.now();
          pending += chunk;
          let cut: number;
          while ((cut = pending.indexOf("\n\n")) >= 0) {
            const frame = pending.slice(0, cut);
            pending = pending.slice(cut + 2);
            const id = /^id: (\d+)$/m.exec(frame);
            if (!id) continue;
            const seq = Number(id[1]);
            if (seq <= v.lastId) v.duplicates++;
            else if (seq > v.lastId + 1) v.gaps++;
            v.lastId = Math.max(v.lastId, seq);
            const sent = /"sentAt":([\d.]+)/.exec(frame);
            if (sent) histogram[Math.min(HISTOGRAM_MS, Math.max(0, Math.round(now - Number(sent[1]))))]!++;
            if (/^event: (done|failed)$/m.test(frame)) v.sawTerminal = true;
          }
        });
        res.on("end", () => {
          v.ended = true;
          onEnd();
        });
        res.on("error", () => {});
      },
    );
    v.request = req;
    req.on("error", () => {
      v.ended = true;
      resolve(v);
      onEnd();
    });
    req.setTimeout(CONNECT_TIMEOUT_MS, () => req.destroy());
  });
}

function webPid(port: string): number {
  const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" });
  const pid = /pid=(\d+)/.exec(out)?.[1];
  if (!pid) throw new Error(`no process listens on port ${port}`);
  return Number(pid);
}

function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb("VmRSS") / 1024), peakMb: Math.round(kb("VmHWM") / 1024) };
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function quantile(counts: number[], q: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let ms = 0; ms < counts.length; ms++) {
    seen += counts[ms]!;
    if (seen > q * total) return ms;
  }
  return NaN;
}

type ToViewers = { type: "finish" };
type FromViewers =
  | { type: "connected"; connected: number; statuses: [number, number][]; connectMs: number }
  | { type: "done"; histogram: number[]; complete: number; duplicates: number; gaps: number; ended: boolean; lastIds: [number, number] };

/** The viewers' process: connects them all, reports, then waits for their streams to end. */
async function runViewers(): Promise<void> {
  const target = new URL(values.url!);
  const all: Viewer[] = [];
  let endedCount = 0;
  let allEnded!: () => void;
  const everyoneEnded = new Promise<void>((r) => (allEnded = r));
  const onEnd = () => {
    if (++endedCount === viewers) allEnded();
  };
  const t0 = performance.now();
  for (let i = 0; i < viewers; i += CONNECT_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONNECT_CONCURRENCY, viewers - i) }, (_, k) => connect(target, target.pathname, i + k + 1, onEnd));
    all.push(...(await Promise.all(batch)));
  }
  const statuses = new Map<number, number>();
  for (const v of all) statuses.set(v.status, (statuses.get(v.status) ?? 0) + 1);
  const send = (m: FromViewers) => process.send!(m);
  send({ type: "connected", connected: all.filter((v) => v.status === 200).length, statuses: [...statuses], connectMs: performance.now() - t0 });
  await new Promise<void>((resolve) => process.once("message", (m: ToViewers) => m.type === "finish" && resolve()));
  const ended = await Promise.race([everyoneEnded.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), END_TIMEOUT_MS))]);
  const ok = all.filter((v) => v.status === 200);
  let last = HISTOGRAM_MS;
  while (last > 0 && histogram[last] === 0) last--;
  send({
    type: "done",
    histogram: Array.from(histogram.subarray(0, last + 1)),
    complete: ok.filter((v) => v.sawTerminal && v.duplicates === 0 && v.gaps === 0).length,
    duplicates: ok.reduce((n, v) => n + v.duplicates, 0),
    gaps: ok.reduce((n, v) => n + v.gaps, 0),
    ended,
    lastIds: [Math.min(...ok.map((v) => v.lastId)), Math.max(...ok.map((v) => v.lastId))],
  });
  for (const v of all) v.request?.destroy();
}

async function main(): Promise<void> {
  const prepared = await prepareBench("relaycheck_bench_sse");

  const service = await startService({ worker: false, env: { LOG_LEVEL: "warn", SSE_MAX_LIFETIME_SECONDS: "3600", RATE_LIMIT_READS_PER_MINUTE: "1000000", ...(values.via === "next" ? { RELAYCHECK_SSE_VIA_NEXT: "1" } : {}), ...(process.env.BENCH_WEB_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WEB_NODE_OPTIONS } : {}) } });
  const writer = createCheckServices(parseEnv(service.env), "bench-writer");
  const redis = new Redis(prepared.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const base = new URL(service.baseUrl);
    const pid = webPid(base.port);
    const idle = memoryOf(pid);
    const created = await fetch(`${service.baseUrl}/api/v1/checks`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ target: "127.0.0.1" }) });
    const { id } = (await created.json()) as { id: string };
    await recordCheckEvents(writer, id, [{ type: "status", t: 0, status: "running" }]);

    const child = fork(import.meta.filename, ["--role", "viewers", "--viewers", String(viewers), "--url", `${service.baseUrl}/api/v1/checks/${id}/events`], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const messages: FromViewers[] = [];
    let onMessage: (() => void) | null = null;
    child.on("message", (m: FromViewers) => {
      messages.push(m);
      onMessage?.();
    });
    child.on("exit", (code) => {
      if (!messages.some((m) => m.type === "done")) {
        console.error(`the viewers' process exited (${code}) before it reported`);
        process.exit(1);
      }
    });
    const next = async <T extends FromViewers["type"]>(type: T): Promise<Extract<FromViewers, { type: T }>> => {
      for (;;) {
        const found = messages.find((m) => m.type === type);
        if (found) return found as Extract<FromViewers, { type: T }>;
        await new Promise<void>((r) => (onMessage = r));
      }
    };
    const { connected, statuses, connectMs } = await next("connected");
    const connectedMemory = memoryOf(pid);
    const cpuAtStart = cpuSecondsOf(pid);
    const readers = String(await redis.call("CLIENT", "LIST")).split("\n").filter((l) => l.includes(`name=relaycheck-sse:${service.env.REDIS_PREFIX} `)).length;

    // The writer: `rate` events a second, each stamped with the time it is appended.
    const total = Math.round(rate * seconds);
    const start = performance.now();
    const appendMs: number[] = [];
    const cpuBefore = { web: cpuSecondsOf(pid), viewers: cpuSecondsOf(child.pid!) };
    for (let n = 1; n <= total; n++) {
      const due = start + (n * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const event = { type: "reply", t: n, server: "127.0.0.1:25", session: 1, command: "NOOP", reply: { code: 250, text: "2.0.0 Ok" }, sentAt: performance.timeOrigin + performance.now() };
      await recordCheckEvents(writer, id, [event as unknown as CheckStreamEvent]);
      appendMs.push(performance.timeOrigin + performance.now() - event.sentAt);
    }
    appendMs.sort((a, b) => a - b);
    const loaded = memoryOf(pid);
    const writeSeconds = (performance.now() - start) / 1000;
    const cpu = { web: (cpuSecondsOf(pid) - cpuBefore.web) / writeSeconds, viewers: (cpuSecondsOf(child.pid!) - cpuBefore.viewers) / writeSeconds };
    const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
    await recordCheckEvents(writer, id, [{ type: "failed", t: 0, error: { code: "internal", message: "end of the benchmark" } }]);
    child.send({ type: "finish" } satisfies ToViewers);
    const result = await next("done");
    child.kill();

    const counts = result.histogram;
    const deliveries = counts.reduce((a, b) => a + b, 0);
    console.log(`${viewers} viewers of one check (streams written by ${values.via === "next" ? "the Next route" : "the web server itself"}), ${total} events at ${rate}/s over ${seconds} s (web process pid ${pid}, this machine: ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores)`);
    console.log(`  connected                 ${connected} of ${viewers} in ${(connectMs / 1000).toFixed(1)} s (statuses: ${statuses.map(([s, c]) => `${s}×${c}`).join(", ")})`);
    console.log(`  Redis reader connections  ${readers} (web process)`);
    console.log(`  delivery latency          p50 ${quantile(counts, 0.5)} ms   p99 ${quantile(counts, 0.99)} ms   max ${counts.length - 1} ms   (${deliveries} deliveries, 1 ms buckets)`);
    console.log(`  writer's append           p50 ${appendMs[Math.floor(appendMs.length / 2)]!.toFixed(1)} ms   p99 ${appendMs[Math.floor(appendMs.length * 0.99)]!.toFixed(1)} ms   (PostgreSQL then Redis: part of the latency above)`);
    console.log(`  every event exactly once  ${result.complete} of ${connected} viewers (duplicates ${result.duplicates}, gaps ${result.gaps}, last ids ${result.lastIds.join("–")} of ${total + 3}); all streams ended after the terminal event: ${result.ended}`);
    console.log(`  web RSS                   idle ${idle.rssMb} MB, all connected ${connectedMemory.rssMb} MB, while writing ${loaded.rssMb} MB, peak ${memoryOf(pid).peakMb} MB`);
    console.log(`  web CPU per delivery      ${(((cpuSecondsOf(pid) - cpuAtStart) * 1e6) / Math.max(1, deliveries)).toFixed(1)} µs (all CPU from the first event to the last stream's end, ÷ deliveries)`);
    console.log(`  CPU while writing         web ${cpu.web.toFixed(2)} cores, viewers' process ${cpu.viewers.toFixed(2)} cores; machine load average ${load}`);
  } finally {
    redis.disconnect();
    await closeCheckServices(writer);
    await service.stop();
    await prepared.stop();
  }
}

(values.role === "viewers" ? runViewers() : main()).then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
