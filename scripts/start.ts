/**
 * `npm start`: the whole service with one command, doing only the work that is not done yet.
 *   1. PostgreSQL and Redis found or started (scripts/prepare-services.ts); meanwhile the Prisma
 *      client generated and the web app built, each only when out of date (a few stat calls
 *      tell; neither needs a database);
 *   2. migrations: `prisma migrate deploy` only when a committed migration is missing from the
 *      database (a query finds out in milliseconds; the Prisma CLI takes seconds to do nothing),
 *      against DIRECT_DATABASE_URL when set (DATABASE_URL may go through a pooler);
 *   3. the web server, then one worker once the web answers /api/health: on a small machine the
 *      two start-ups would otherwise share the CPU and both be late (measured: healthy in half
 *      the time). Jobs wait in the queue meanwhile;
 *   4. with RELAYCHECK_SINK_DOMAIN set, the proof-of-delivery sink (sink/main.ts) on a local port
 *      (RELAYCHECK_SINK_HOST:RELAYCHECK_SINK_PORT, default 127.0.0.1:2525; port 25 needs root and
 *      is the docker-compose service's).
 * (Starting the web server while PostgreSQL starts was tried: no measurable gain.)
 * Ctrl-C stops the children, then what was started here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { DATA_DIR, localSecrets, prepareServices, ROOT, say, stopChild, type Services } from "./prepare-services";
import { migrateDeploy, pendingMigrations, prismaClientIsCurrent, runPrismaAsync } from "./run-prisma";
import { buildIsCurrent, buildWeb } from "./build-web";
import { WORKER_NODE_FLAGS } from "@/worker/node-flags";

/** How long to wait for the first healthy answer before starting the worker anyway. */
const HEALTHY_WAIT_MS = 120_000;
const HEALTH_POLL_MS = 100;
const HEALTH_REQUEST_TIMEOUT_MS = 2_000;

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;

/** Generates the Prisma client and builds the web app, each only when it is out of date. */
async function prepareCode(signal: AbortSignal): Promise<void> {
  if (!prismaClientIsCurrent()) {
    say("generating the Prisma client…");
    await runPrismaAsync(["generate"], { signal });
  }
  if (!buildIsCurrent()) await buildWeb({ signal });
}

async function main(): Promise<void> {
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  const host = process.env.HOST || "127.0.0.1";
  const port = process.env.PORT || "3000";
  const children = new Set<ChildProcess>();
  const aborter = new AbortController();
  let services: Services | undefined;
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping…");
    aborter.abort();
    await Promise.all([...children].map((c) => stopChild(c)));
    await services?.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  const start = (name: string, urls: Pick<Services, "databaseUrl" | "redisUrl">, args: string[], extraEnv: Record<string, string> = {}) => {
    const env: NodeJS.ProcessEnv = {
      // Node 22+ keeps the compiled code of the modules it loads: ~15 % less CPU for the web's start-up.
      NODE_COMPILE_CACHE: path.join(DATA_DIR, "compile-cache"),
      ...process.env,
      NODE_ENV: "production",
      DATABASE_URL: urls.databaseUrl,
      REDIS_URL: urls.redisUrl,
      HOST: host,
      PORT: port,
      IP_HASH_SECRET: process.env.IP_HASH_SECRET || localSecrets().ipHashSecret,
      ...extraEnv,
    };
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: "inherit" });
    child.on("exit", (code, signal) => {
      if (stopping || !children.delete(child)) return;
      say(`${name} exited (${signal ?? code}); stopping everything`);
      void stopAll(code || 1);
    });
    children.add(child);
  };

  let ready: Services;
  try {
    // Both run to their end, so that a failure of one never leaves the other's work half done.
    const [prepared, code] = await Promise.allSettled([prepareServices(), prepareCode(aborter.signal)]);
    if (prepared.status === "rejected") throw prepared.reason;
    services = ready = prepared.value;
    if (code.status === "rejected") throw code.reason;
    const migrationUrl = process.env.DIRECT_DATABASE_URL || ready.databaseUrl;
    const pending = await pendingMigrations(migrationUrl);
    if (pending.length) {
      say(`applying ${pending.length} database migration(s)…`);
      migrateDeploy(migrationUrl);
    }
  } catch (e) {
    if (stopping) return;
    console.error(e instanceof Error ? e.message : e);
    await stopAll(1);
    return;
  }
  if (stopping) return;

  start("web", ready, [path.join(ROOT, "scripts", "serve-web.mjs")]);
  const url = `http://${urlHost(host, "localhost")}:${port}`;
  say(`relaycheck is starting on ${url}  (Ctrl-C to stop)`);
  const healthy = await waitHealthy(`http://${urlHost(host, "127.0.0.1")}:${port}/api/health`, () => stopping);
  if (stopping) return;
  if (healthy) say(`relaycheck is ready on ${url}  (${elapsed()}); starting the worker`);
  else say(`no healthy answer from ${url}/api/health after ${HEALTHY_WAIT_MS / 1000} s (see the messages above); starting the worker`);
  start("worker", ready, [...WORKER_NODE_FLAGS, "--import", "tsx", path.join(ROOT, "worker", "main.ts")]);
  if (process.env.RELAYCHECK_SINK_DOMAIN) {
    const sinkEnv = { RELAYCHECK_SINK_HOST: process.env.RELAYCHECK_SINK_HOST || "127.0.0.1", RELAYCHECK_SINK_PORT: process.env.RELAYCHECK_SINK_PORT || "2525" };
    say(`starting the proof-of-delivery sink for ${process.env.RELAYCHECK_SINK_DOMAIN} on ${sinkEnv.RELAYCHECK_SINK_HOST}:${sinkEnv.RELAYCHECK_SINK_PORT}`);
    start("sink", ready, ["--import", "tsx", path.join(ROOT, "sink", "main.ts")], sinkEnv);
  }
}

/** A host for a URL: brackets around IPv6, and `wildcard` for an any-address (0.0.0.0, ::). */
function urlHost(host: string, wildcard: string): string {
  if (host === "0.0.0.0" || host === "::") return wildcard;
  return host.includes(":") ? `[${host}]` : host;
}

/** Polls the health route until it answers 200; false when it did not in time or we stop. */
async function waitHealthy(url: string, stopped: () => boolean): Promise<boolean> {
  const deadline = performance.now() + HEALTHY_WAIT_MS;
  while (!stopped() && performance.now() < deadline) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return true;
    await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
  }
  return false;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
