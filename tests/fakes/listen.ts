import type { FakeLog, FakeSessionLog } from "./types";
import net from "node:net";

/** Listens on host:port (port 0 = ephemeral) and resolves with the port actually bound. */
export function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/** A loopback address the fake reports as its own IP literal: "127.0.0.1" or "::1". */
export function plainAddress(address: string | undefined): string {
  return (address ?? "").replace(/^::ffff:/, "");
}

/** A new, empty session entry for a fake's log (sessions are numbered from 1). */
export function newSessionLog(log: FakeLog, remoteAddress: string | undefined, remotePort: number | undefined): FakeSessionLog {
  return { id: log.sessions.length + 1, remoteAddress: plainAddress(remoteAddress), remotePort: remotePort ?? 0, commands: [], replies: [], errors: 0, tls: false, end: null };
}
