/**
 * A Redis Cluster of a test's own: `masters` redis-server processes in cluster mode on free
 * loopback ports (data and node files in a temp folder), joined with
 * `redis-cli --cluster create … --cluster-yes` (no replicas: the slots are split evenly), and
 * awaited until every node says `cluster_state:ok`. `close()` kills them and removes the folder.
 * Never the machine's Redis.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./service";

export interface OwnRedisCluster {
  /** "127.0.0.1:port" of each master: the value of REDIS_CLUSTER_NODES (comma-joined). */
  nodes: string[];
  /** The node ("127.0.0.1:port") that holds a key's slot. */
  nodeOfKey(key: string): Promise<string>;
  close(): Promise<void>;
}

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 20_000;

export function redisClusterAvailable(): boolean {
  return spawnSync("redis-server", ["--version"]).status === 0 && spawnSync("redis-cli", ["--version"]).status === 0;
}

export async function startOwnRedisCluster(options: { masters?: number } = {}): Promise<OwnRedisCluster> {
  const masters = options.masters ?? 3;
  const dir = await mkdtemp(path.join(os.tmpdir(), "rc-redis-cluster-"));
  const children: ChildProcess[] = [];
  const close = async () => {
    await Promise.all(children.map((c) => stop(c)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const nodes: string[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      // The cluster bus port would default to port + 10000, which may be taken or out of range.
      const busPort = await freePort();
      const nodeDir = path.join(dir, String(port));
      await mkdir(nodeDir);
      const child = spawn(
        "redis-server",
        [
          "--port", String(port), "--bind", HOST, "--protected-mode", "no", "--dir", nodeDir,
          "--save", "", "--appendonly", "no",
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(busPort),
          "--cluster-node-timeout", "5000",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      children.push(child);
      await waitForOutput(child, /Ready to accept connections/);
      nodes.push(`${HOST}:${port}`);
    }
    const created = spawnSync("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"], { encoding: "utf8", timeout: READY_TIMEOUT_MS });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${(created.stdout + created.stderr).slice(-800)}`);
    await waitUntilOk(nodes);
    const admin = new Redis(`redis://${nodes[0]}`, { maxRetriesPerRequest: 1, lazyConnect: true });
    return {
      nodes,
      async nodeOfKey(key) {
        const slot = Number(await admin.cluster("KEYSLOT", key));
        const range = (await admin.cluster("SLOTS")).find(([from, to]) => slot >= from && slot <= to);
        const master = range?.[2];
        if (!master) throw new Error(`no node holds slot ${slot}`);
        return `${master[0]}:${master[1]}`;
      },
      async close() {
        admin.disconnect();
        await close();
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Every node agrees the cluster is whole (all slots served); polled, with a deadline. */
async function waitUntilOk(nodes: string[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const clients = nodes.map((n) => new Redis(`redis://${n}`, { maxRetriesPerRequest: 1 }));
  try {
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.cluster("INFO").catch(() => "") as Promise<string>));
      if (infos.every((i) => /cluster_state:ok/.test(i) && /cluster_slots_ok:16384/.test(i))) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become ready: ${infos.join(" | ").replace(/\r?\n/g, " ").slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}

function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${seen.slice(-500)}`)), READY_TIMEOUT_MS);
    const onData = (b: Buffer) => {
      seen += b.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}): ${seen.slice(-500)}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}
