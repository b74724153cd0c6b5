/**
 * A minimal SMTP client for tests of the test servers themselves (fakes, Postfix): send a line,
 * read one complete reply. Not the engine's client, on purpose: it is how we check the fakes
 * independently of the code under test.
 */
import net from "node:net";
import tls from "node:tls";

export interface RawReply {
  code: number;
  lines: string[];
  /** All lines joined with "\n", codes stripped. */
  text: string;
}

export interface RawSmtpClient {
  /** Reads the next complete reply (the greeting first). */
  read(timeoutMs?: number): Promise<RawReply>;
  /** Sends one command line and reads its reply. */
  command(line: string, timeoutMs?: number): Promise<RawReply>;
  /** Upgrades to TLS in place (after a 220 to STARTTLS). */
  startTls(servername?: string): Promise<void>;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  close(): void;
}

export function connectRaw(host: string, port: number): Promise<RawSmtpClient> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket = net.connect({ host, port });
    let buffer = "";
    let waiter: (() => void) | null = null;
    let ended = false;
    let resolveClosed: () => void = () => undefined;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    const onData = (d: Buffer) => {
      buffer += d.toString("latin1");
      waiter?.();
    };
    const onClose = () => {
      ended = true;
      resolveClosed();
      waiter?.();
    };
    const attach = (s: net.Socket) => {
      s.on("data", onData);
      s.on("error", () => undefined);
    };
    attach(socket);
    socket.on("close", onClose);

    const takeReply = (): RawReply | null => {
      const lines: string[] = [];
      let offset = 0;
      for (;;) {
        const nl = buffer.indexOf("\n", offset);
        if (nl < 0) return null;
        const line = buffer.slice(offset, nl).replace(/\r$/, "");
        offset = nl + 1;
        lines.push(line);
        if (!/^\d{3}-/.test(line)) {
          buffer = buffer.slice(offset);
          return { code: Number(line.slice(0, 3)), lines, text: lines.map((l) => l.slice(4)).join("\n") };
        }
      }
    };

    const read = (timeoutMs = 5000): Promise<RawReply> =>
      new Promise((res, rej) => {
        const timer = setTimeout(() => {
          waiter = null;
          rej(new Error(`no complete reply within ${timeoutMs} ms; buffer: ${JSON.stringify(buffer.slice(0, 200))}`));
        }, timeoutMs);
        const attempt = () => {
          const reply = takeReply();
          if (reply) {
            clearTimeout(timer);
            waiter = null;
            res(reply);
          } else if (ended) {
            clearTimeout(timer);
            waiter = null;
            rej(new Error(`connection closed; buffer: ${JSON.stringify(buffer.slice(0, 200))}`));
          }
        };
        waiter = attempt;
        attempt();
      });

    const client: RawSmtpClient = {
      read,
      command(line, timeoutMs) {
        socket.write(`${line}\r\n`);
        return read(timeoutMs);
      },
      startTls(servername) {
        return new Promise((res, rej) => {
          socket.off("data", onData);
          const secure = tls.connect({ socket, servername, rejectUnauthorized: false }, () => res());
          secure.once("error", rej);
          attach(secure);
          socket = secure;
        });
      },
      closed,
      close() {
        socket.destroy();
      },
    };
    socket.once("connect", () => resolve(client));
    socket.once("error", reject);
  });
}
