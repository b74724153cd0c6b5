/**
 * A TCP proxy for service tests that need to hold a probe at a known point: it accepts
 * connections on its own address (e.g. 127.0.0.70:25) and, once `open()` is called, pipes each to
 * the upstream fake. Until then accepted connections just wait (an SMTP client sees a server that
 * has not greeted yet). It counts connections, and the most open at the same time, on its side:
 * what the probed "server" saw.
 */
import net from "node:net";
import { closeServer, listen } from "@/tests/fakes/listen";

export interface GatedProxy {
  host: string;
  port: number;
  log: { connections: number; maxConcurrent: number; timeline: string[] };
  /** Starts forwarding: waiting connections first, new ones at once. */
  open(): void;
  /** Resolves once at least `n` connections have been accepted. */
  accepted(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startGatedProxy(options: { host: string; port: number; upstream: { host: string; port: number } }): Promise<GatedProxy> {
  const log = { connections: 0, maxConcurrent: 0, timeline: [] as string[] };
  const t0 = Date.now();
  const open = new Set<net.Socket>();
  const waiting: net.Socket[] = [];
  const watchers: { n: number; resolve: () => void }[] = [];
  let forwarding = false;

  const forward = (client: net.Socket) => {
    if (client.destroyed) return;
    const upstream = net.connect(options.upstream.port, options.upstream.host);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
    // The server has let go of the session at its end of stream: from then on it no longer counts
    // (the sockets' 'close' events come only in a later turn of the event loop, after the client
    // may have been told and a new connection accepted already).
    upstream.on("end", () => release(client, "server closed"));
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const names = new WeakMap<net.Socket, string>();
  const release = (client: net.Socket, why: string) => {
    if (!open.delete(client)) return;
    log.timeline.push(`${Date.now() - t0} ${why} ${names.get(client)} (${open.size})`);
  };

  const server = net.createServer((client) => {
    open.add(client);
    log.connections++;
    log.maxConcurrent = Math.max(log.maxConcurrent, open.size);
    names.set(client, `:${client.remotePort}`);
    log.timeline.push(`${Date.now() - t0} open ${names.get(client)} (${open.size})`);
    client.on("end", () => release(client, "client closed"));
    client.on("close", () => release(client, "closed"));
    client.on("error", () => {});
    for (const w of watchers.filter((w) => log.connections >= w.n)) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve();
    }
    if (forwarding) forward(client);
    else waiting.push(client);
  });
  await listen(server, options.host, options.port);

  return {
    host: options.host,
    port: options.port,
    log,
    open() {
      forwarding = true;
      for (const client of waiting.splice(0)) forward(client);
    },
    accepted(n) {
      if (log.connections >= n) return Promise.resolve();
      return new Promise((resolve) => watchers.push({ n, resolve }));
    },
    async close() {
      for (const socket of open) socket.destroy();
      await closeServer(server);
    },
  };
}
