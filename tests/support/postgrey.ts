/**
 * A throwaway postgrey (Debian's greylisting policy server, Postfix's policy delegation protocol)
 * for tests: its own database directory in a temp dir, on a loopback address and a free port,
 * with a short `--delay`, no whitelists and no auto-whitelisting, so every new (client, sender,
 * recipient) triple is refused until `delaySeconds` after it was first seen. Postfix asks it with
 * `check_policy_service inet:<address>`.
 *
 * It runs as a child process (not daemonised) in its own process group; postgrey drops to its
 * `postgrey` user, which must own the database directory (chowned here).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { DependencyCheck } from "./require";

export const POSTGREY_COMMAND = "/usr/sbin/postgrey";
const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 5_000;

export function postgreyAvailable(): DependencyCheck {
  if (!existsSync(POSTGREY_COMMAND)) return { ok: false, reason: "postgrey is not installed: apt-get install postgrey" };
  return { ok: true };
}

export interface PostgreyInstance {
  /** "127.0.0.60:41234": what `check_policy_service inet:` takes. */
  address: string;
  /** postgrey's own lines (one per decision: "action=greylist, reason=new, …", "action=pass, …"). */
  log(): string;
  close(): Promise<void>;
}

export async function startPostgrey(options: { host: string; delaySeconds: number }): Promise<PostgreyInstance> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "relaycheck-postgrey-"));
  const dbdir = path.join(dir, "db");
  // mkdtemp's 0700 would keep postgrey's own user out of its database directory.
  await chmod(dir, 0o711);
  await mkdir(dbdir);
  const ids = userIds("postgrey");
  if (ids) await chown(dbdir, ids.uid, ids.gid);
  const port = await freePort(options.host);
  const output: string[] = [];
  const child: ChildProcess = spawn(
    POSTGREY_COMMAND,
    [
      `--inet=${options.host}:${port}`,
      `--delay=${options.delaySeconds}`,
      `--dbdir=${dbdir}`,
      `--pidfile=${path.join(dir, "postgrey.pid")}`,
      "--whitelist-clients=/dev/null",
      "--whitelist-recipients=/dev/null",
      "--auto-whitelist-clients=0",
      "--lookup-by-host",
      // An unconditional 450: the refusal comes before Postfix's relay decision, for open and closed alike.
      "--greylist-action=DEFER",
      "--greylist-text=Greylisted for relaycheck's test",
    ],
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  child.stdout!.on("data", (b: Buffer) => output.push(b.toString()));
  child.stderr!.on("data", (b: Buffer) => output.push(b.toString()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // gone already
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // gone already
        }
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const until = Date.now() + READY_TIMEOUT_MS;
  while (!(await accepts(options.host, port))) {
    if (child.exitCode !== null || Date.now() > until) {
      await close();
      throw new Error(`postgrey did not start on ${options.host}:${port}:\n${output.join("")}`);
    }
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  return { address: `${options.host}:${port}`, log: () => output.join(""), close };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
  });
}

function userIds(name: string): { uid: number; gid: number } | null {
  try {
    const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
    if (!line) return null;
    const [, , uid, gid] = line.split(":");
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return null;
  }
}

/** A free TCP port on `host`. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no free port"))));
    });
  });
}
