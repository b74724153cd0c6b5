/**
 * A PgBouncer of the test's own (Debian's `pgbouncer`), in transaction mode, on a free loopback
 * port in front of the test database's server, for tests that run the service through a pooler
 * the way a hosted PostgreSQL (or a scaled-out deployment) often puts one in front:
 *
 *   const bouncer = await startPgBouncer({ serverUrl: process.env.RELAYCHECK_TEST_DATABASE_URL! });
 *   bouncer.urlFor("relaycheck_t_x")   // postgresql://postgres@127.0.0.1:<port>/relaycheck_t_x
 *   await bouncer.close();
 *
 * Any database name maps to the same name on the server (`* =` in [databases]); clients are
 * trusted (loopback only), the server is reached with the URL's own user and password. Its
 * config, log and pid file live in a temp dir; it runs in the foreground as a child process (as
 * `nobody` when the test runs as root: PgBouncer refuses to run as root).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { DependencyCheck } from "./require";

export const PGBOUNCER_COMMAND = "/usr/sbin/pgbouncer";
const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 10_000;
/** The OS user PgBouncer switches to when started as root. */
const UNPRIVILEGED_USER = "nobody";

export interface PgBouncerOptions {
  /** A URL of the PostgreSQL server to pool (host, port, user, password; the database is ignored). */
  serverUrl: string;
  /** Server connections per database/user pair (default 10, below the service's own pool of 10 per process). */
  poolSize?: number;
}

export interface PgBouncerInstance {
  host: string;
  port: number;
  /** A URL of `database` through the pooler (same user and password as the server URL). */
  urlFor(database: string): string;
  /** Transactions and queries PgBouncer has passed to the server for `database` (SHOW STATS). */
  stats(database: string): Promise<{ transactions: number; queries: number }>;
  /** PgBouncer's own log so far (for failure messages). */
  log(): Promise<string>;
  close(): Promise<void>;
}

export function pgbouncerAvailable(): DependencyCheck {
  if (!existsSync(PGBOUNCER_COMMAND)) {
    return { ok: false, reason: `PgBouncer is not installed (${PGBOUNCER_COMMAND} missing); install it: apt-get install -y --no-install-recommends pgbouncer` };
  }
  return { ok: true };
}

/** `key = value` text for one ini value: PgBouncer reads values up to the end of the line. */
function iniValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error("a PgBouncer setting cannot hold a line break");
  return value;
}

/** A value inside a libpq-style connection string of [databases]: quoted, ' and \ escaped. */
function connValue(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncerInstance> {
  const server = new URL(options.serverUrl);
  const user = decodeURIComponent(server.username || "postgres");
  const password = decodeURIComponent(server.password);
  const host = "127.0.0.1";
  const port = await freePort(host);
  const dir = await mkdtemp(path.join(os.tmpdir(), "relaycheck-pgbouncer-"));
  const logFile = path.join(dir, "pgbouncer.log");
  const serverParts = [`host=${connValue(server.hostname.replace(/^\[|\]$/g, ""))}`, `port=${server.port || "5432"}`, `user=${connValue(user)}`];
  if (password) serverParts.push(`password=${connValue(password)}`);
  const config = [
    "[databases]",
    `* = ${serverParts.join(" ")}`,
    "",
    "[pgbouncer]",
    `listen_addr = ${host}`,
    `listen_port = ${port}`,
    "unix_socket_dir =",
    `logfile = ${iniValue(logFile)}`,
    `pidfile = ${iniValue(path.join(dir, "pgbouncer.pid"))}`,
    // Loopback clients only; the user name must still be listed in auth_file.
    "auth_type = trust",
    `auth_file = ${iniValue(path.join(dir, "userlist.txt"))}`,
    "pool_mode = transaction",
    // The admin console (database "pgbouncer"), for SHOW STATS.
    `admin_users = ${iniValue(user)}`,
    `default_pool_size = ${options.poolSize ?? 10}`,
    "max_client_conn = 1000",
    // node-postgres may send these at start-up; PgBouncer refuses unknown parameters otherwise.
    "ignore_startup_parameters = extra_float_digits,options,statement_timeout,idle_in_transaction_session_timeout",
    "server_login_retry = 1",
    "",
  ].join("\n");
  await writeFile(path.join(dir, "pgbouncer.ini"), config);
  await writeFile(path.join(dir, "userlist.txt"), `"${user.replace(/"/g, '""')}" ""\n`);
  await writeFile(logFile, "");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // The unprivileged user reads the config and writes the log and pid file.
    await chmod(dir, 0o777);
    for (const f of ["pgbouncer.ini", "userlist.txt", "pgbouncer.log"]) await chmod(path.join(dir, f), 0o666);
  }

  const child = spawn(PGBOUNCER_COMMAND, [...(asRoot ? ["-u", UNPRIVILEGED_USER] : []), path.join(dir, "pgbouncer.ini")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const log = async () => `${output}${await readFile(logFile, "utf8").catch(() => "")}`;
  const urlFor = (database: string) => {
    const url = new URL(options.serverUrl);
    url.hostname = host;
    url.port = String(port);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const close = async () => {
    await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(child, urlFor(server.pathname.slice(1) || "postgres"));
  } catch (e) {
    const text = await log();
    await close();
    throw new Error(`PgBouncer did not start: ${e instanceof Error ? e.message : String(e)}\n${text}`, { cause: e });
  }
  const stats = async (database: string) => {
    const admin = new pg.Client({ connectionString: urlFor("pgbouncer") });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ database: string; total_xact_count: string; total_query_count: string }>("SHOW STATS");
      const row = rows.find((r) => r.database === database);
      return { transactions: Number(row?.total_xact_count ?? 0), queries: Number(row?.total_query_count ?? 0) };
    } finally {
      await admin.end();
    }
  };
  return { host, port, urlFor, stats, log, close };
}

/** Ready when a query goes through it to the server. */
async function waitReady(child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.once("exit", () => (exited = true));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`pgbouncer exited (${child.exitCode ?? child.signalCode})`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (e) {
      lastError = e;
    } finally {
      await client.end().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  throw new Error(`no answer through it within ${READY_TIMEOUT_MS} ms (${String(lastError)})`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    // SIGTERM: immediate shutdown (SIGINT would wait for the clients to go).
    child.kill("SIGTERM");
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no free port"))));
    });
  });
}
