/**
 * A throwaway PostgreSQL cluster of a test's own (Debian's server binaries, run as the `postgres`
 * user), on a free loopback port, migrated with the project's migrations: to stop and start again
 * (never the machine's PostgreSQL).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrateDeploy } from "@/scripts/run-prisma";
import { freePort } from "./service";

export interface OwnPostgres {
  url: string;
  /** Immediate shutdown: every connection drops, as in a crash. */
  stop(): void;
  start(): void;
  close(): void;
}

function binDir(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, "bin", "pg_ctl"))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : null;
}

export function ownPostgresAvailable(): { ok: boolean; reason?: string } {
  if (!binDir()) return { ok: false, reason: "PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed" };
  if (process.getuid?.() !== 0) return { ok: false, reason: "needs root (to run PostgreSQL as the postgres user)" };
  if (spawnSync("id", ["-u", "postgres"]).status !== 0) return { ok: false, reason: "there is no postgres user" };
  return { ok: true };
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = binDir();
  if (!bin) throw new Error("no PostgreSQL server binaries");
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  const parent = mkdtempSync(path.join(os.tmpdir(), "rc-pg-"));
  chownSync(parent, uid, gid);
  const data = path.join(parent, "data");
  const port = await freePort();
  const asPostgres = (cmd: string, args: string[]) => {
    const r = spawnSync("runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args], { encoding: "utf8", cwd: parent });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stdout}\n${r.stderr}`);
  };
  asPostgres("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const start = () =>
    asPostgres("pg_ctl", ["-D", data, "-w", "-l", path.join(parent, "log"), "-o", `-p ${port} -c listen_addresses=127.0.0.1 -k ${parent} -c fsync=off`, "start"]);
  const stop = () => asPostgres("pg_ctl", ["-D", data, "-w", "-m", "immediate", "stop"]);
  start();
  const admin = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query("CREATE DATABASE relaycheck");
  await client.end();
  const url = `postgresql://postgres@127.0.0.1:${port}/relaycheck`;
  migrateDeploy(url);
  return {
    url,
    stop,
    start,
    close() {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
