/**
 * The whole service for a test: the built Next.js app (scripts/serve-web.mjs) on a free port and
 * one real worker process, on the real PostgreSQL and Redis that `npm test` prepared
 * (scripts/test.ts). Each instance is isolated: a database of its own (a copy of the migrated
 * test database), a Redis key prefix of its own (queue, live streams, rate limits), and a local
 * DNS server unless the test gives one (the worker must never use the system resolver).
 *
 *   const service = await startService({ dnsServers: [dns.address] });
 *   await fetch(`${service.baseUrl}/api/v1/checks`, …);
 *   await service.stop();
 *
 * Readiness is awaited from the processes' own output, never by sleeping.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { Redis } from "ioredis";
import { startDnsServer, type LocalDnsServer } from "./dns-server";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

/** Set by scripts/test.ts: the migrated test database (used as a template) and Redis. */
export const TEST_DATABASE_URL_ENV = "RELAYCHECK_TEST_DATABASE_URL";
export const TEST_REDIS_URL_ENV = "RELAYCHECK_TEST_REDIS_URL";

export interface StartServiceOptions {
  /** DNS servers for the worker ("ip:port"); default: a local DNS server with an empty zone. */
  dnsServers?: string[];
  /** Start the worker process too (default true). */
  worker?: boolean;
  /**
   * Environment overrides for both processes (rate limits, TRUST_PROXY, DATABASE_URL…).
   * Defaults: RELAYCHECK_ALLOW_TARGETS=127.0.0.0/8, TRUST_PROXY=1 (so a test can act as a
   * client of its own with X-Forwarded-For), generous rate limits, LOG_LEVEL=info,
   * RECHECK_DELAYS_SECONDS=off (a test of the re-check sets short rounds).
   */
  env?: Record<string, string>;
  /** Use this database as it is instead of a fresh copy of the test database. */
  databaseUrl?: string;
}

export interface RunningService {
  /** e.g. "http://127.0.0.1:41234" */
  baseUrl: string;
  /** The environment both processes run with. */
  env: Record<string, string>;
  /** Output of the web server and the worker so far (for failure messages). */
  logs(): string;
  /** Starts one more worker process (resolves when it is ready). */
  startWorker(): Promise<void>;
  /** Sends `signal` to every worker process started so far and waits until they have exited. */
  killWorkers(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

let instances = 0;

export async function startService(options: StartServiceOptions = {}): Promise<RunningService> {
  const templateUrl = process.env[TEST_DATABASE_URL_ENV];
  const redisUrl = process.env[TEST_REDIS_URL_ENV];
  if (!templateUrl || !redisUrl) {
    throw new Error(`${TEST_DATABASE_URL_ENV} and ${TEST_REDIS_URL_ENV} are not set: run the tests with \`npm test\` (it prepares the database, Redis and the build).`);
  }
  if (!fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
    throw new Error("The web app is not built: run the tests with `npm test` (it builds it once).");
  }

  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  };
  const output: string[] = [];
  try {
    const tag = `${process.pid}-${++instances}-${randomBytes(3).toString("hex")}`;
    const databaseUrl = options.databaseUrl ?? (await copyDatabase(templateUrl, `relaycheck_t_${tag.replace(/-/g, "_")}`, cleanups));

    let dns: LocalDnsServer | null = null;
    if (!options.dnsServers) {
      dns = await startDnsServer({});
      cleanups.push(() => dns!.close());
    }
    const prefix = `rc-test-${tag}`;
    cleanups.push(() => deleteRedisKeys(redisUrl, prefix));
    const port = await freePort();
    const env: Record<string, string> = {
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      QUEUE_NAME: "checks",
      HOST: "127.0.0.1",
      PORT: String(port),
      IP_HASH_SECRET: randomBytes(32).toString("base64url"),
      RELAYCHECK_ALLOW_TARGETS: "127.0.0.0/8",
      RELAYCHECK_DNS_SERVERS: (options.dnsServers ?? [dns!.address]).join(","),
      TRUST_PROXY: "1",
      RATE_LIMIT_CLIENT_POINTS: "1000",
      RATE_LIMIT_TARGET_POINTS: "1000",
      RATE_LIMIT_READS_PER_MINUTE: "100000",
      NEXT_TELEMETRY_DISABLED: "1",
      // Greylisted fakes would otherwise wait minutes for the automatic re-check: tests opt in.
      RECHECK_DELAYS_SECONDS: "off",
      ...options.env,
    };
    // Only what is set here: nothing of the runner's own environment leaks into the service.
    const childEnv: NodeJS.ProcessEnv = Object.assign({ NODE_ENV: "test" as const }, { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root" }, env);

    const web = spawn(process.execPath, [path.join(ROOT, "scripts", "serve-web.mjs")], { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    cleanups.push(() => stopProcess(web));
    const webReady = waitForLine(web, "web", output, /listening on http:\/\//);
    const workers: ChildProcess[] = [];
    const startWorker = async () => {
      const worker = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "worker", "main.ts")], {
        cwd: ROOT,
        env: childEnv,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      });
      workers.push(worker);
      cleanups.push(() => stopProcess(worker));
      await waitForReadyMessage(worker, `worker${workers.length > 1 ? workers.length : ""}`, output);
    };
    if (options.worker !== false) await startWorker();
    await webReady;

    return {
      baseUrl: `http://127.0.0.1:${port}`,
      env,
      logs: () => output.join(""),
      startWorker,
      async killWorkers(signal = "SIGKILL") {
        await Promise.all(
          workers.map((w) =>
            w.exitCode !== null || w.signalCode !== null ? undefined : new Promise<void>((resolve) => (w.once("exit", () => resolve()), w.kill(signal))),
          ),
        );
      },
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    const tail = output.join("").split("\n").slice(-30).join("\n");
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- service output ---\n${tail}`, { cause: e });
  }
}

/** A fresh database copied from the migrated test database (CREATE DATABASE … TEMPLATE). */
async function copyDatabase(templateUrl: string, name: string, cleanups: (() => Promise<void>)[]): Promise<string> {
  const template = decodeURIComponent(new URL(templateUrl).pathname.slice(1));
  const admin = new URL(templateUrl);
  admin.pathname = "/postgres";
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  // Copies from one template cannot run at the same time: retry while it is busy.
  for (let attempt = 0; ; attempt++) {
    try {
      await run(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      break;
    } catch (e) {
      if (attempt >= 50 || !/being accessed by other users/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 100));
    }
  }
  cleanups.push(() => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Removes an instance's Redis keys (queue, streams, rate limits) once it is stopped. */
async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
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

/** The worker says it is ready over IPC (whatever its log level). */
function waitForReadyMessage(child: ChildProcess, name: string, output: string[]): Promise<void> {
  const collect = (chunk: Buffer) => output.push(chunk.toString().replace(/^/gm, `[${name}] `));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  return new Promise((resolve, reject) => {
    child.on("message", (m: { type?: string }) => {
      if (m?.type === "ready") resolve();
    });
    child.once("exit", (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before it was ready`)));
  });
}

function waitForLine(child: ChildProcess, name: string, output: string[], pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text.replace(/^/gm, `[${name}] `));
      seen = (seen + text).slice(-10_000);
      if (pattern.test(seen)) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before it was ready`)));
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** A free TCP port on 127.0.0.1 (for processes a test starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no free port"))));
    });
  });
}

export interface InProcessServices {
  services: import("@/lib/checks/services").CheckServices;
  env: import("@/lib/env").Env;
  close(): Promise<void>;
}

/**
 * The service's modules in the test's own process (no web, no worker process): a fresh copy of
 * the test database and a Redis prefix of their own, for tests that drive lib/checks and worker/
 * functions directly (the reconciler, a job handler).
 */
export async function startInProcessServices(envOverrides: Record<string, string> = {}): Promise<InProcessServices> {
  const templateUrl = process.env[TEST_DATABASE_URL_ENV];
  const redisUrl = process.env[TEST_REDIS_URL_ENV];
  if (!templateUrl || !redisUrl) throw new Error(`${TEST_DATABASE_URL_ENV} and ${TEST_REDIS_URL_ENV} are not set: run the tests with \`npm test\`.`);
  const cleanups: (() => Promise<void>)[] = [];
  const tag = `${process.pid}-${++instances}-${randomBytes(3).toString("hex")}`;
  const databaseUrl = await copyDatabase(templateUrl, `relaycheck_t_${tag.replace(/-/g, "_")}`, cleanups);
  const prefix = `rc-test-${tag}`;
  cleanups.push(() => deleteRedisKeys(redisUrl, prefix));
  const { parseEnv } = await import("@/lib/env");
  const { createCheckServices, closeCheckServices } = await import("@/lib/checks/services");
  const env = parseEnv({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    IP_HASH_SECRET: randomBytes(32).toString("base64url"),
    RELAYCHECK_ALLOW_TARGETS: "127.0.0.0/8",
    ...envOverrides,
  });
  const services = createCheckServices(env, "test");
  cleanups.push(() => closeCheckServices(services));
  return {
    services,
    env,
    async close() {
      for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
    },
  };
}
