/**
 * A redis-server process of a test's own, on a free loopback port, to kill, restart, freeze and
 * thaw (never the machine's Redis). `keepData: true` makes it write every change to an append-only
 * file in its own folder, so a restart comes back with the data; without it a restart is a wipe.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "./service";

export interface OwnRedis {
  url: string;
  port: number;
  /** Stops it: SIGKILL (a crash; nothing more reaches the disk) or SIGTERM. */
  kill(signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
  /** Starts it again on the same port (and folder). */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync("redis-server", ["--version"]).status === 0;
}

export async function startOwnRedis(options: { keepData?: boolean } = {}): Promise<OwnRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "rc-redis-"));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const args = () => [
    "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir, "--protected-mode", "no",
    ...(options.keepData ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
  ];
  const start = async () => {
    child = spawn("redis-server", args(), { stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const onData = (b: Buffer) => {
        output.push(b.toString());
        if (/Ready to accept connections/.test(output.join(""))) resolve();
      };
      child!.stdout!.on("data", onData);
      child!.stderr!.on("data", onData);
      child!.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${output.join("").slice(-500)}`)));
    });
  };
  const kill = async (signal: "SIGKILL" | "SIGTERM" = "SIGKILL") => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill("SIGCONT");
    c.kill(signal);
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start,
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
    async close() {
      await kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}
