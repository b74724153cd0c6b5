/**
 * Hostile raw `node:net` servers: they misbehave byte-exactly and forever, but stop writing and
 * free their timers as soon as the client goes away or `close()` is called.
 */
import net from "node:net";
import { listen, closeServer, newSessionLog } from "./listen";
import { ConnectionTracker, emptyLog, type FakeServer, type FakeSessionLog } from "./types";

export type HostileBehaviour =
  /** Accepts the connection and never says anything. */
  | { kind: "silent" }
  /** Sends a greeting ("220-...\r\n" over and over) one byte per `intervalMs`, forever. */
  | { kind: "trickle"; intervalMs: number }
  /** Greets normally, then answers EHLO with "250-" lines forever. */
  | { kind: "endless-reply" }
  /** Sends `bytes` bytes of greeting ("220 AAAA...") without ever a line feed, then waits. */
  | { kind: "long-line"; bytes: number }
  /** Sends binary junk and invalid UTF-8 (no reply code), then waits. */
  | { kind: "junk" }
  /** Resets the connection (RST) in the middle of the greeting or of the EHLO reply. */
  | { kind: "reset-mid-reply"; during: "greeting" | "ehlo" };

export interface HostileServer extends FakeServer {
  /** Bytes written to clients so far, all connections together. */
  bytesSent(): number;
}

/** Bytes 0x00, 0xff, 0xfe, an ANSI escape, a lone continuation byte, a truncated UTF-8 sequence. */
export const JUNK = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x80, 0xc3, 0x28, 0xe2, 0x82, 0x0d, 0x0a, 0x07, 0x08, 0x7f, 0x0d, 0x0a]);

const RESET_DELAY_MS = 30;

export async function startHostile(behaviour: HostileBehaviour, o: { host?: string; port?: number; hostname?: string } = {}): Promise<HostileServer> {
  const host = o.host ?? "127.0.0.1";
  const hostname = o.hostname ?? "mx.hostile.test";
  const log = emptyLog();
  const tracker = new ConnectionTracker<net.Socket>(log);
  const timers = new Set<NodeJS.Timeout>();
  let sent = 0;

  const server = net.createServer((socket) => {
    tracker.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => undefined);
    const session: FakeSessionLog = newSessionLog(log, socket.remoteAddress, socket.remotePort);
    log.sessions.push(session);
    const myTimers = new Set<NodeJS.Timeout>();
    const gone = () => socket.destroyed || !socket.writable;
    socket.on("close", () => {
      session.end ??= "client";
      for (const t of myTimers) {
        clearTimeout(t);
        clearInterval(t);
        timers.delete(t);
      }
      tracker.remove(socket);
    });
    const write = (data: string | Buffer, flushed?: () => void): boolean => {
      if (gone()) return false;
      const buf = typeof data === "string" ? Buffer.from(data, "latin1") : data;
      sent += buf.length;
      return socket.write(buf, flushed);
    };
    // RST a little after the partial reply: an RST that arrives before the client has read the
    // data makes the client's kernel drop it.
    const resetAfter = (data: string) => write(data, () => later(() => socket.resetAndDestroy(), RESET_DELAY_MS));
    const later = (fn: () => void, ms: number) => {
      const t = setTimeout(() => {
        myTimers.delete(t);
        timers.delete(t);
        fn();
      }, ms);
      myTimers.add(t);
      timers.add(t);
    };
    /** Writes chunks until `remaining` runs out or the client goes, honouring backpressure. */
    const pump = (next: () => Buffer | null) => {
      const step = () => {
        for (let i = 0; i < 64; i++) {
          if (gone()) return;
          const chunk = next();
          if (!chunk) return;
          if (!write(chunk)) {
            socket.once("drain", step);
            return;
          }
        }
        later(step, 0); // yield to the event loop between bursts
      };
      step();
    };

    let buffer = "";
    const onLine = (fn: (line: string) => void) => {
      socket.on("data", (d: Buffer) => {
        buffer += d.toString("latin1");
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const line = buffer.slice(0, nl).replace(/\r$/, "");
          buffer = buffer.slice(nl + 1);
          session.commands.push(line);
          log.commands.push({ session: session.id, line });
          if (/^(DATA|BDAT)\b/i.test(line)) log.dataAttempts++;
          fn(line);
        }
      });
    };

    switch (behaviour.kind) {
      case "silent":
        onLine(() => undefined);
        break;
      case "trickle": {
        const pattern = Buffer.from(`220-${hostname} please wait\r\n`, "latin1");
        let i = 0;
        const t = setInterval(() => {
          if (gone()) return;
          write(pattern.subarray(i % pattern.length, (i % pattern.length) + 1));
          i++;
        }, behaviour.intervalMs);
        myTimers.add(t);
        timers.add(t);
        onLine(() => undefined);
        break;
      }
      case "endless-reply": {
        write(`220 ${hostname} ESMTP relaycheck-hostile\r\n`);
        let n = 0;
        let started = false;
        onLine((line) => {
          if (started || !/^(EHLO|HELO)\b/i.test(line)) return;
          started = true;
          pump(() => Buffer.from(`250-${hostname} extension line ${n++} ${"x".repeat(40)}\r\n`, "latin1"));
        });
        break;
      }
      case "long-line": {
        write("220 ");
        let remaining = behaviour.bytes - 4;
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        pump(() => {
          if (remaining <= 0) return null;
          const c = remaining >= chunk.length ? chunk : chunk.subarray(0, remaining);
          remaining -= c.length;
          return c;
        });
        onLine(() => undefined);
        break;
      }
      case "junk":
        write(Buffer.concat([JUNK, JUNK, JUNK]));
        onLine(() => undefined);
        break;
      case "reset-mid-reply":
        if (behaviour.during === "greeting") {
          resetAfter(`220-${hostname} ESMTP relaycheck-hostile\r\n220-half a gree`);
        } else {
          write(`220 ${hostname} ESMTP relaycheck-hostile\r\n`);
          onLine((line) => {
            if (!/^(EHLO|HELO)\b/i.test(line)) return;
            resetAfter(`250-${hostname}\r\n250-PIPELI`);
          });
        }
        break;
    }
  });

  const port = await listen(server, host, o.port ?? 0);
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    log,
    bytesSent: () => sent,
    idle: () => tracker.idle(),
    close() {
      closing ??= (async () => {
        for (const t of timers) {
          clearTimeout(t);
          clearInterval(t);
        }
        timers.clear();
        const closed = closeServer(server);
        tracker.destroyAll();
        await closed;
      })();
      return closing;
    },
  };
}
