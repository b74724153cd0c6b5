/**
 * A bare line-based SMTP peer for byte-exact behaviours the scripted fake does not play: it sends
 * a greeting, splits what the client sends into lines, and hands each line with the socket to
 * the test's handler. Plain TCP, or implicit TLS with `tls` options. Binds to loopback.
 */
import net from "node:net";
import tls from "node:tls";
import { once } from "node:events";

export interface LineConnection {
  socket: net.Socket;
  /** Per-connection state for the handler. */
  state: Record<string, unknown>;
}

export interface LineServerOptions {
  host?: string;
  port?: number;
  /** Implicit TLS (port 465 style): the handshake comes before the greeting. */
  tls?: tls.TlsOptions;
  greeting: string;
  /** Bytes received while the handler has switched the connection to raw mode. */
  onRaw?: (chunk: Buffer, conn: LineConnection) => void;
  /** Called per line; set `conn.state.raw = true` to get the following bytes through onRaw. */
  onLine: (line: string, conn: LineConnection) => void;
}

export interface LineServer {
  host: string;
  port: number;
  connections(): number;
  close(): Promise<void>;
}

export async function startLineServer(options: LineServerOptions): Promise<LineServer> {
  const host = options.host ?? "127.0.0.1";
  let count = 0;
  const sockets = new Set<net.Socket>();
  const onConnection = (socket: net.Socket) => {
    count++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const conn: LineConnection = { socket, state: {} };
    socket.write(`${options.greeting}\r\n`);
    let buffer = "";
    socket.on("data", (chunk: Buffer) => {
      if (conn.state.raw && options.onRaw) return options.onRaw(chunk, conn);
      buffer += chunk.toString("latin1");
      for (let i = buffer.indexOf("\n"); i >= 0 && !socket.destroyed; i = buffer.indexOf("\n")) {
        const line = buffer.slice(0, i).replace(/\r$/, "");
        buffer = buffer.slice(i + 1);
        options.onLine(line, conn);
      }
    });
  };
  const server = options.tls ? tls.createServer(options.tls, onConnection) : net.createServer(onConnection);
  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The command verb of a line: "MAIL FROM:<a>" → "MAIL". */
export function verbOf(line: string): string {
  return line.split(/[ :]/)[0]!.toUpperCase();
}
