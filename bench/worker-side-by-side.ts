/**
 * The worker's throughput and CPU per check, side by side for two checkouts of relaycheck: an
 * older one (`--base <dir>`, e.g. the code before issue 10, built with `npm ci && npm run build`
 * there) and this one. Black-box, so that checkouts of any storage layout compare: for each
 * checkout, its own web server and worker process (as its package.json's `web` and `worker`
 * scripts start them), on a database of the benchmark's own migrated by that checkout's own
 * migrations (`npm run prisma -- migrate deploy` there), with the same settings for both.
 *
 * For each concurrency (WORKER_CONCURRENCY), one round per checkout, the checkouts interleaved:
 * 1. a fresh worker process; once it is ready and has run a few warm-up checks (connections,
 *    JIT), its idle CPU rate over a few seconds (BullMQ's polling, timers);
 * 2. the worker stopped (SIGSTOP), N one-server checks created through the checkout's public API
 *    (POST /api/v1/checks), each of its own name (a queued check of the same target would be
 *    reused) whose A record points to one of ten fast closed fake servers (127.0.0.170–179);
 * 3. the worker resumed (SIGCONT); the time until every check is finished in the database, and
 *    the worker's CPU meanwhile (user + system from /proc/<pid>/stat, less its idle rate);
 * → checks per minute and worker CPU ms per check, and the ratio of this checkout's to the base's;
 *   and where the machine's CPU went meanwhile, per check: the worker, PostgreSQL (all its
 *   processes), Redis, the fake servers and DNS (which stand for the mail servers of the world:
 *   in production they are not on this machine), the web process, the rest. On this 2-core
 *   machine the throughput is bound by the sum, not by the worker alone.
 *
 * Rate limits are raised by environment so that nothing is refused (client, target, server
 * probes), RELAYCHECK_MAX_CHECKS_PER_SERVER=16 (no waiting for a server's slot), re-checks off,
 * loopback targets allowed (RELAYCHECK_ALLOW_TARGETS=127.0.0.0/8), reserved names allowed, the
 * DNS a local fake. Everything on loopback. Prints figures; not run by tests.
 *
 *   npx tsx bench/worker-side-by-side.ts --base /work/base [--checks 300] [--concurrency 4,16] [--rounds 1]
 *     [--worker-node-options="--cpu-prof --cpu-prof-dir=/tmp/prof"] [--this-only]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import pg from "pg";
import { ensureDatabase, prepareServices, ROOT } from "@/scripts/prepare-services";
import { generatePrismaClient } from "@/scripts/run-prisma";
import { buildWebIfNeeded } from "@/scripts/build-web";
import { freePort } from "@/tests/support/service";
import { FAKE_HOSTS, startFakeMailServers } from "./fake-mail-servers";

const { values } = parseArgs({
  options: {
    base: { type: "string" },
    checks: { type: "string", default: "300" },
    concurrency: { type: "string", default: "4,16" },
    rounds: { type: "string", default: "1" },
    /** NODE_OPTIONS of the worker processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
    "worker-node-options": { type: "string" },
    /** Only this checkout (no --base needed): for profiling. */
    "this-only": { type: "boolean", default: false },
  },
});

/** Checks each fresh worker runs first, not counted (connections, JIT). */
const WARM_UP_CHECKS = 30;
const SETTLE_MS = 3_000;
const IDLE_MS = 3_000;
const FINISH_TIMEOUT_MS = 10 * 60_000;
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

interface Checkout {
  label: string;
  dir: string;
  databaseUrl: string;
  db?: pg.Pool;
  web?: ChildProcess;
  baseUrl?: string;
}

interface Figures {
  perMinute: number;
  cpuMsPerCheck: number;
  /** CPU ms per check of each part of the machine (see machineCpu), the worker's idle rate not subtracted. */
  machine: Record<string, number>;
  idleCpuMsPerSecond: number;
  done: number;
  failed: number;
}

/** `node …` command of a package.json script, as [args after node]. */
function nodeScript(dir: string, name: string): string[] {
  const scripts = (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  const [command, ...args] = (scripts[name] ?? "").split(/\s+/).filter(Boolean);
  if (command !== "node") throw new Error(`${dir}: the "${name}" script is not a plain \`node …\` command: ${scripts[name]}`);
  return args;
}

/** user + system CPU ms of a process so far. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

const PARTS = ["worker", "PostgreSQL", "Redis", "fake servers + DNS", "web", "rest"] as const;

/**
 * CPU ms so far of the machine (all CPUs, busy time from /proc/stat) and of its processes, by
 * part: the given pids, PostgreSQL's and Redis's processes by name, the rest the difference.
 */
function machineCpu(pids: { worker: number; fakes: number; web: number }): Record<(typeof PARTS)[number], number> {
  const cpuLine = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  const busy = ((cpuLine.slice(0, 8).reduce((a, b) => a + b, 0) - cpuLine[3]! - cpuLine[4]!) * 1000) / CLK_TCK;
  const parts = { worker: 0, PostgreSQL: 0, Redis: 0, "fake servers + DNS": 0, web: 0, rest: 0 };
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const pid = Number(entry);
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
    if (pid === pids.worker) parts.worker += ms;
    else if (pid === pids.fakes) parts["fake servers + DNS"] += ms;
    else if (pid === pids.web) parts.web += ms;
    else if (comm === "postgres" || comm.startsWith("postgres:")) parts.PostgreSQL += ms;
    else if (comm.startsWith("redis-server")) parts.Redis += ms;
  }
  parts.rest = busy - parts.worker - parts["fake servers + DNS"] - parts.web - parts.PostgreSQL - parts.Redis;
  return parts;
}

function waitForOutput(child: ChildProcess, pattern: RegExp, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-20_000);
      if (pattern.test(seen)) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${seen.slice(-3000)}`)));
  });
}

function waitForReady(child: ChildProcess, name: string): Promise<void> {
  let seen = "";
  const collect = (chunk: Buffer) => void (seen = (seen + chunk.toString()).slice(-20_000));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  return new Promise((resolve, reject) => {
    child.on("message", (m: { type?: string }) => {
      if (m?.type === "ready") resolve();
    });
    child.once("exit", (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${seen.slice(-3000)}`)));
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGCONT");
    child.kill("SIGTERM");
  });
}

async function main(): Promise<void> {
  if (!values.base && !values["this-only"]) throw new Error("--base <dir>: the checkout to compare with (built: npm ci && npm run build there)");
  const baseDir = path.resolve(values.base ?? ROOT);
  if (!values["this-only"] && !fs.existsSync(path.join(baseDir, ".next", "BUILD_ID"))) throw new Error(`${baseDir} is not built: run \`npm ci && npm run build\` there`);
  const checks = Number(values.checks);
  const concurrencies = values.concurrency.split(",").map(Number);
  const rounds = Number(values.rounds);

  const services = await prepareServices({ quiet: true });
  generatePrismaClient();
  buildWebIfNeeded();
  const names = Array.from({ length: checks }, (_, i) => `c${i}.side.bench.test`);
  const warmUpNames = Array.from({ length: WARM_UP_CHECKS }, (_, i) => `w${i}.side.bench.test`);
  const fakes = await startFakeMailServers({ a: Object.fromEntries([...warmUpNames, ...names].map((n, i) => [n, [FAKE_HOSTS[i % FAKE_HOSTS.length]!.ip]])) });
  const admin = new pg.Pool({ connectionString: services.databaseUrl, max: 2 });
  const checkouts: Checkout[] = [
    ...(values["this-only"] ? [] : [{ label: "base", dir: baseDir, databaseUrl: "" }]),
    { label: "this", dir: ROOT, databaseUrl: "" },
  ];
  const prefix = `rc-bench-side-${process.pid}`;
  const many = "1000000";
  const ipHashSecret = randomBytes(32).toString("base64url");
  const env = (checkout: Checkout, extra: Record<string, string>): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/root",
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    LOG_LEVEL: "info",
    DATABASE_URL: checkout.databaseUrl,
    REDIS_URL: services.redisUrl,
    REDIS_PREFIX: `${prefix}-${checkout.label}`,
    IP_HASH_SECRET: ipHashSecret,
    RELAYCHECK_ALLOW_TARGETS: "127.0.0.0/8",
    RELAYCHECK_ALLOW_RESERVED_NAMES: "true",
    RELAYCHECK_DNS_SERVERS: fakes.dns,
    RELAYCHECK_MAX_CHECKS_PER_SERVER: "16",
    CHECK_REUSE_WINDOW_SECONDS: "0",
    RATE_LIMIT_CLIENT_POINTS: many,
    RATE_LIMIT_TARGET_POINTS: many,
    RATE_LIMIT_SERVER_POINTS: many,
    RATE_LIMIT_READS_PER_MINUTE: many,
    RECHECK_DELAYS_SECONDS: "off",
    ...extra,
  });
  const results = new Map<string, Figures[]>();

  try {
    for (const [i, checkout] of checkouts.entries()) {
      const url = new URL(services.databaseUrl);
      url.pathname = `/relaycheck_bench_side_${process.pid}_${i}`;
      checkout.databaseUrl = url.toString();
      await ensureDatabase(checkout.databaseUrl, { recreate: true });
      const migrated = spawnSync("npm", ["run", "--silent", "prisma", "--", "migrate", "deploy"], { cwd: checkout.dir, env: { ...process.env, DATABASE_URL: checkout.databaseUrl }, encoding: "utf8" });
      if (migrated.status !== 0) throw new Error(`${checkout.dir}: migrate deploy failed:\n${migrated.stdout}\n${migrated.stderr}`);
      checkout.db = new pg.Pool({ connectionString: checkout.databaseUrl, max: 1 });
      const port = await freePort();
      checkout.web = spawn(process.execPath, nodeScript(checkout.dir, "web"), { cwd: checkout.dir, env: env(checkout, { HOST: "127.0.0.1", PORT: String(port) }), stdio: ["ignore", "pipe", "pipe"] });
      await waitForOutput(checkout.web, /listening on http:\/\//, `${checkout.label} web`);
      checkout.baseUrl = `http://127.0.0.1:${port}`;
    }

    const runOnce = async (checkout: Checkout, concurrency: number): Promise<Figures> => {
      const worker = spawn(process.execPath, nodeScript(checkout.dir, "worker"), {
        cwd: checkout.dir,
        env: env(checkout, { WORKER_CONCURRENCY: String(concurrency), ...(values["worker-node-options"] ? { NODE_OPTIONS: values["worker-node-options"] } : {}) }),
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      });
      try {
        await waitForReady(worker, `${checkout.label} worker`);
        const pid = worker.pid!;
        await waitFinished(checkout, await createChecks(checkout.baseUrl!, warmUpNames));
        await sleep(SETTLE_MS);
        const idle0 = cpuMs(pid);
        await sleep(IDLE_MS);
        const idleRate = (cpuMs(pid) - idle0) / IDLE_MS;

        worker.kill("SIGSTOP");
        const ids = await createChecks(checkout.baseUrl!, names);
        const pids = { worker: pid, fakes: fakes.pid, web: checkout.web!.pid! };
        const machine0 = machineCpu(pids);
        const cpu0 = cpuMs(pid);
        const t0 = performance.now();
        worker.kill("SIGCONT");
        const finished = await waitFinished(checkout, ids);
        const ms = performance.now() - t0;
        const cpu = cpuMs(pid) - cpu0 - idleRate * ms;
        const machine1 = machineCpu(pids);
        const machine = Object.fromEntries(PARTS.map((part) => [part, (machine1[part] - machine0[part]) / ids.length]));
        return { perMinute: (ids.length / ms) * 60_000, cpuMsPerCheck: cpu / ids.length, machine, idleCpuMsPerSecond: idleRate * 1000, ...finished };
      } finally {
        await stop(worker);
      }
    };

    console.log(`worker side by side: ${checks} one-server checks of fast closed servers through the API, base ${baseDir} vs this checkout (${ROOT})`);
    for (let round = 0; round < rounds; round++) {
      for (const concurrency of concurrencies) {
        for (const checkout of checkouts) {
          const figures = await runOnce(checkout, concurrency);
          const key = `${concurrency}/${checkout.label}`;
          results.set(key, [...(results.get(key) ?? []), figures]);
          console.log(
            `  round ${round + 1}, concurrency ${String(concurrency).padStart(2)}, ${checkout.label.padEnd(4)}: ${figures.perMinute.toFixed(0).padStart(6)} checks/min   worker CPU ${figures.cpuMsPerCheck.toFixed(1).padStart(5)} ms/check   (idle ${figures.idleCpuMsPerSecond.toFixed(1)} ms/s; ${figures.done} done, ${figures.failed} failed)`,
          );
        }
      }
    }
    console.log(`\n  the machine's CPU per check while they ran (ms; medians over ${rounds} round${rounds > 1 ? "s" : ""}): ${PARTS.join(" / ")} = all`);
    for (const concurrency of concurrencies) {
      for (const checkout of checkouts) {
        const runs = results.get(`${concurrency}/${checkout.label}`)!;
        const parts = PARTS.map((part) => median(runs.map((r) => r.machine[part]!)));
        console.log(`  concurrency ${String(concurrency).padStart(2)}, ${checkout.label.padEnd(4)}: ${parts.map((v) => v.toFixed(1)).join(" / ")} = ${parts.reduce((a, b) => a + b, 0).toFixed(1)}`);
      }
    }
    if (values["this-only"]) return;
    console.log(`\n  (medians over ${rounds} round${rounds > 1 ? "s" : ""})           base → this`);
    for (const concurrency of concurrencies) {
      const [base, mine] = ["base", "this"].map((label) => {
        const runs = results.get(`${concurrency}/${label}`)!;
        return { perMinute: median(runs.map((r) => r.perMinute)), cpu: median(runs.map((r) => r.cpuMsPerCheck)) };
      });
      console.log(
        `  concurrency ${String(concurrency).padStart(2)}: checks/min ${base!.perMinute.toFixed(0).padStart(6)} → ${mine!.perMinute.toFixed(0).padStart(6)} (×${(mine!.perMinute / base!.perMinute).toFixed(2)})   worker CPU ms/check ${base!.cpu.toFixed(1).padStart(5)} → ${mine!.cpu.toFixed(1).padStart(5)} (×${(mine!.cpu / base!.cpu).toFixed(2)})`,
      );
    }
  } finally {
    for (const checkout of checkouts) {
      await stop(checkout.web);
      await checkout.db?.end();
    }
    fakes.stop();
    for (const checkout of checkouts) {
      if (checkout.databaseUrl) await admin.query(`DROP DATABASE IF EXISTS "${new URL(checkout.databaseUrl).pathname.slice(1)}" WITH (FORCE)`).catch(() => {});
    }
    await admin.end();
    await deleteKeys(services.redisUrl, prefix);
    await services.stop();
  }
}

/** POSTs one check per name, 8 at a time; returns the new checks' ids (every one must be new). */
async function createChecks(baseUrl: string, names: string[]): Promise<string[]> {
  const ids: string[] = [];
  const queue = [...names];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const res = await fetch(`${baseUrl}/api/v1/checks`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ target: name }) });
        const body = (await res.json()) as { id?: string };
        if (res.status !== 202 || !body.id) throw new Error(`POST /api/v1/checks ${name}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
        ids.push(body.id);
      }
    }),
  );
  return ids;
}

/** Polls the checkout's database until every check of `ids` is done or failed. */
async function waitFinished(checkout: Checkout, ids: string[]): Promise<{ done: number; failed: number }> {
  const t0 = performance.now();
  for (;;) {
    const finished = await countFinished(checkout.db!, ids);
    if (finished.done + finished.failed >= ids.length) return finished;
    if (performance.now() - t0 > FINISH_TIMEOUT_MS) throw new Error(`${checkout.label}: ${finished.done + finished.failed}/${ids.length} checks finished after ${FINISH_TIMEOUT_MS / 1000} s`);
    await sleep(50);
  }
}

async function countFinished(db: pg.Pool, ids: string[]): Promise<{ done: number; failed: number }> {
  const { rows } = await db.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM checks WHERE id = ANY($1) AND status IN ('done', 'failed') GROUP BY status`, [ids]);
  const of = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0);
  return { done: of("done"), failed: of("failed") };
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}-*`, "COUNT", 500);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
