/**
 * The inbound SMTP sink (issue 12), on nodemailer's smtp-server: it takes proof messages for the
 * sink domain only, and only to a recipient holding a live token; everything else gets 550 and
 * nothing is stored. It never forwards or bounces anything. Of a message it keeps the arrival
 * time, the connecting address, the envelope and the Received: chain (as its check's event,
 * through `onArrival`); the body is read (up to MAX_MESSAGE_BYTES) and dropped.
 *
 * Caps: message size, one recipient, idle time per command, and a whole session's time.
 */
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import type { Logger } from "../logger";
import type { DeliveryArrival } from "../probe/types";
import { TOKEN_PATTERN, tokenOfRecipient } from "./proof-plan";

export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Longest idle wait for the client's next command. */
export const SINK_IDLE_TIMEOUT_MS = 30_000;
/** Longest a whole session may last. */
export const SINK_SESSION_MS = 120_000;
/** Header bytes kept to read the Received: chain from. */
const MAX_HEADER_BYTES = 32 * 1024;

export interface SinkHooks {
  /** Is this token live (exists, not used, not expired)? */
  isLive: (token: string) => Promise<boolean>;
  /** Uses the token up with the message; false when it was not live any more (550). */
  onArrival: (token: string, arrival: DeliveryArrival) => Promise<boolean>;
}

export interface SinkOptions extends SinkHooks {
  sinkDomain: string;
  /** The name in the greeting. */
  hostname: string;
  log: Logger;
  sessionMs?: number;
  idleTimeoutMs?: number;
}

export interface RunningSink {
  server: SMTPServer;
  address: { host: string; port: number };
  close(): Promise<void>;
}

const reject = (message: string) => Object.assign(new Error(message), { responseCode: 550 });

export function createSink(o: SinkOptions): SMTPServer {
  const timers = new Map<string, NodeJS.Timeout>();
  const server: SMTPServer = new SMTPServer({
    name: o.hostname,
    banner: "relaycheck sink: proof-of-delivery messages only",
    size: MAX_MESSAGE_BYTES,
    authOptional: true,
    disabledCommands: ["AUTH"],
    disableReverseLookup: true,
    socketTimeout: o.idleTimeoutMs ?? SINK_IDLE_TIMEOUT_MS,
    closeTimeout: 1_000,
    logger: false,
    onConnect(session, callback) {
      // A whole session's cap: smtp-server's own timeout is per idle wait only.
      const timer = setTimeout(() => {
        for (const connection of (server as unknown as { connections: Set<{ id: string; close: () => void }> }).connections) {
          if (connection.id === session.id) connection.close();
        }
      }, o.sessionMs ?? SINK_SESSION_MS);
      timer.unref();
      timers.set(session.id, timer);
      callback();
    },
    onClose(session) {
      clearTimeout(timers.get(session.id));
      timers.delete(session.id);
    },
    onMailFrom(_address, _session, callback) {
      callback();
    },
    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback) {
      if (session.envelope.rcptTo.length >= 1) return callback(Object.assign(new Error("5.5.3 One recipient per message"), { responseCode: 452 }));
      const token = tokenOfRecipient(address.address, o.sinkDomain);
      if (!token) return callback(reject(`5.1.1 <${address.address}>: no such mailbox here`));
      o.isLive(token).then(
        (live) => callback(live ? undefined : reject(`5.1.1 <${address.address}>: no such mailbox here`)),
        (err: unknown) => {
          o.log.error({ err }, "sink: token lookup failed");
          callback(Object.assign(new Error("4.3.0 Try again later"), { responseCode: 451 }));
        },
      );
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      readHeader(stream).then(
        async (header) => {
          if (stream.sizeExceeded) return callback(Object.assign(new Error("5.3.4 Message too big"), { responseCode: 552 }));
          const rcpt = session.envelope.rcptTo[0]?.address ?? "";
          const token = tokenOfRecipient(rcpt, o.sinkDomain);
          if (!token || !TOKEN_PATTERN.test(token)) return callback(reject("5.1.1 No such mailbox here"));
          const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
          const arrival: DeliveryArrival = {
            at: new Date().toISOString(),
            remoteAddress: session.remoteAddress,
            heloName: session.hostNameAppearsAs ?? null,
            mailFrom,
            rcptTo: rcpt.replace(token, "<token>"),
            received: receivedOf(header),
          };
          const used = await o.onArrival(token, arrival);
          if (!used) return callback(reject("5.1.1 No such mailbox here"));
          o.log.info({ remoteAddress: arrival.remoteAddress, received: arrival.received.length }, "sink: proof message arrived");
          callback(null, "2.0.0 Proof received, thank you (the message itself is discarded)");
        },
      ).catch((err: unknown) => {
        o.log.error({ err }, "sink: storing an arrival failed");
        callback(Object.assign(new Error("4.3.0 Try again later"), { responseCode: 451 }));
      });
    },
  });
  server.on("error", (err) => o.log.warn({ err }, "sink: connection error"));
  return server;
}

/** Listens on host:port (port 0: a free one). */
export async function runSink(o: SinkOptions & { host: string; port: number }): Promise<RunningSink> {
  const server = createSink(o);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = (server.server.address() as { address: string; port: number });
  return {
    server,
    address: { host: address.address, port: address.port },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Reads the whole stream (so the client gets its reply), keeping only the header block. */
function readHeader(stream: SMTPServerDataStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let head = "";
    let done = false;
    stream.on("data", (chunk: Buffer) => {
      if (done) return;
      head += chunk.toString("latin1");
      const end = head.search(/\r?\n\r?\n/);
      if (end >= 0) {
        head = head.slice(0, end);
        done = true;
      } else if (head.length > MAX_HEADER_BYTES) {
        head = head.slice(0, MAX_HEADER_BYTES);
        done = true;
      }
    });
    stream.once("end", () => resolve(head));
    stream.once("error", reject);
  });
}

/** The Received: fields of a header block, unfolded, in order (the last hop first). */
export function receivedOf(header: string): string[] {
  const fields: string[] = [];
  for (const line of header.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += ` ${line.trim()}`;
    else fields.push(line);
  }
  return fields.filter((f) => /^received:/i.test(f)).map((f) => f.replace(/^received:\s*/i, "").replace(/[^\x20-\x7e]/g, "?")).slice(0, 30);
}
