/**
 * How long `npm start` takes, on this checkout as it is, from the command to a healthy service
 * (GET /api/health → 200: the web server answers and reaches PostgreSQL and Redis). It runs with
 * its embedded PostgreSQL on a port of its own and the machine's Redis under a key prefix of its
 * own, on a free web port; each run is stopped the way Ctrl-C does (SIGINT to its process group)
 * before the next. The first run is a warm-up that brings the checkout to "built" (embedded
 * PostgreSQL initialised, migrations applied, client generated, web app built) and is shown apart.
 * Run by hand:
 *
 *   npx tsx bench/start-time.ts [--runs 5] [--pg-port 54391] [--redis redis://127.0.0.1:6379]
 *                                [--before <commit>] [--command "npm start" [--command "…"]] [--verbose]
 *
 * Prints each run's time to healthy, the CPU time its processes used until then (Linux: less
 * sensitive to a loaded machine than wall time), and the lines `npm start` printed with their
 * times.
 * `--before <commit>` also times that commit's scripts/start.ts (over today's helper scripts,
 * which keep its functions: e.g. `--before ea1a04a`, before start-up skipped work), copied for
 * the run to scripts/ and removed after; `--command` (repeatable) times other ways to start.
 * Runs of the variants are interleaved so that load on the machine weighs on all alike.
 * `--verbose` shows every line of output as it comes.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "@/scripts/prepare-services";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    "pg-port": { type: "string", default: "54391" },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    before: { type: "string" },
    command: { type: "string", multiple: true, default: ["npm start"] },
    verbose: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
/** A first start may initialise PostgreSQL and build the web app. */
const HEALTHY_TIMEOUT_MS = 300_000;
const POLL_MS = 50;
const STOP_TIMEOUT_MS = 30_000;
const prefix = `rc-bench-start-${randomBytes(3).toString("hex")}`;

interface RunResult {
  healthyMs: number;
  /** CPU time (user + system) of every process of the start command's group until healthy. */
  cpuMs: number | null;
  lines: { atMs: number; text: string }[];
}

async function startOnce(command: string): Promise<RunResult> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    PORT: String(port),
    HOST: "127.0.0.1",
    RELAYCHECK_EMBEDDED_PG_PORT: values["pg-port"],
    REDIS_URL: values.redis,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: "warn",
  };
  delete env.DATABASE_URL;
  const started = performance.now();
  const child = spawn("sh", ["-c", command], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const lines: RunResult["lines"] = [];
  const collect = (chunk: Buffer) => {
    for (const text of chunk.toString().split("\n").filter(Boolean)) {
      lines.push({ atMs: performance.now() - started, text });
      if (values.verbose) console.log(`  ${((performance.now() - started) / 1000).toFixed(2)} s  ${text}`);
    }
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  try {
    const healthyMs = await waitHealthy(`http://127.0.0.1:${port}/api/health`, child, started);
    return { healthyMs, cpuMs: groupCpuMs(child.pid!), lines };
  } finally {
    await stopGroup(child);
  }
}

async function waitHealthy(url: string, child: ChildProcess, started: number): Promise<number> {
  let exited = false;
  child.once("exit", () => (exited = true));
  while (performance.now() - started < HEALTHY_TIMEOUT_MS) {
    if (exited) throw new Error("the start command exited before the service was healthy");
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return performance.now() - started;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`not healthy within ${HEALTHY_TIMEOUT_MS} ms`);
}

/**
 * CPU time used so far by a process group, from /proc (Linux): user + system time of each of its
 * processes and of their exited children. Less sensitive to a loaded machine than wall time.
 */
function groupCpuMs(group: number): number | null {
  const ticksMs = 10; // USER_HZ is 100 on Linux
  let total = 0;
  try {
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      } catch {
        continue; // gone meanwhile
      }
      // Fields after the command name (which may contain spaces): state is field 3.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== group) continue;
      total += [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) * ticksMs;
    }
  } catch {
    return null;
  }
  return total;
}

/**
 * Ctrl-C: SIGINT to the whole process group, then waits until every process of it is gone (the
 * next run reuses the PostgreSQL port); SIGKILL to the group if that takes too long.
 */
async function stopGroup(child: ChildProcess): Promise<void> {
  const group = -child.pid!;
  const alive = () => {
    try {
      process.kill(group, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(group, "SIGINT");
  const deadline = performance.now() + STOP_TIMEOUT_MS;
  while (alive()) {
    if (performance.now() > deadline) process.kill(group, "SIGKILL");
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function deleteKeys(): Promise<void> {
  const redis = new Redis(values.redis, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

const show = (r: RunResult) =>
  r.lines
    .filter((l) => l.text.startsWith("[relaycheck]"))
    .map((l) => `    ${(l.atMs / 1000).toFixed(2).padStart(6)} s  ${l.text}`)
    .join("\n");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The older start script of `--before`, copied next to today's (it imports them). */
const beforeScript = values.before ? path.join(ROOT, "scripts", `start-before-${process.pid}.bench.ts`) : null;
if (beforeScript) writeFileSync(beforeScript, execFileSync("git", ["show", `${values.before}:scripts/start.ts`], { cwd: ROOT }));

try {
  const commands = [...(beforeScript ? [`node --import tsx scripts/${path.basename(beforeScript)}`] : []), ...values.command];
  const times = commands.map(() => [] as number[]);
  const cpu = commands.map(() => [] as number[]);
  const lastRuns: (RunResult | undefined)[] = commands.map(() => undefined);
  for (const command of commands) {
    const warmup = await startOnce(command);
    console.log(`${command}: warm-up (may initialise, migrate, build) healthy in ${seconds(warmup.healthyMs)}\n${show(warmup)}`);
  }
  for (let i = 0; i < runs; i++) {
    for (const [n, command] of commands.entries()) {
      const result = await startOnce(command);
      times[n]!.push(result.healthyMs);
      if (result.cpuMs !== null) cpu[n]!.push(result.cpuMs);
      lastRuns[n] = result;
      console.log(`run ${i + 1}, ${command}: healthy in ${seconds(result.healthyMs)}${result.cpuMs === null ? "" : `, CPU ${seconds(result.cpuMs)}`}`);
    }
  }
  console.log(`\nnode ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(2)}; a built checkout → healthy (${runs} runs each):`);
  for (const [n, command] of commands.entries()) {
    const xs = times[n]!;
    const cpuText = cpu[n]!.length ? `; CPU until healthy: median ${seconds(median(cpu[n]!))}` : "";
    console.log(`  ${command.padEnd(40)} median ${seconds(median(xs))}  min ${seconds(Math.min(...xs))}  max ${seconds(Math.max(...xs))}${cpuText}`);
    console.log(`${show(lastRuns[n]!)}`);
  }
} finally {
  if (beforeScript) rmSync(beforeScript, { force: true });
  await deleteKeys();
}
