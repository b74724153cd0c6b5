/**
 * Fakes built on nodemailer's `smtp-server`, a real third-party SMTP implementation, whose
 * `onRcptTo` plays a relay policy. It checks the engine against a server we did not write
 * (its own reply texts, its own strict address parser: it answers 501 to double-@ and quoted
 * forms itself). For byte-exact behaviour use `startScriptedSmtp`.
 */
import type net from "node:net";
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from "smtp-server";
import { closeServer, listen, newSessionLog, plainAddress } from "./listen";
import { selfSignedCert } from "./tls-cert";
import { ConnectionTracker, emptyLog, type FakeServer, type FakeSessionLog } from "./types";

export interface LibrarySmtpOptions {
  policy: "open" | "closed" | "catch-all" | "greylist";
  host?: string;
  port?: number;
  hostname?: string;
  domains?: string[];
  users?: string[];
  starttls?: "none" | "offered" | "required";
}

interface SmtpError extends Error {
  responseCode?: number;
}

function smtpError(code: number, message: string): SmtpError {
  const e: SmtpError = new Error(message);
  e.responseCode = code;
  return e;
}

/** The connection object smtp-server keeps per client; only what we touch. */
interface LibraryConnection {
  session: SMTPServerSession;
  send(code: number, message: string): void;
  handler_DATA?: (command: Buffer, callback: () => void) => void;
  handler_BDAT?: (command: Buffer, callback: () => void) => void;
}

export async function startLibrarySmtp(options: LibrarySmtpOptions): Promise<FakeServer> {
  const host = options.host ?? "127.0.0.1";
  const hostname = options.hostname ?? "mx.library.test";
  const domains = (options.domains ?? ["library.test"]).map((d) => d.toLowerCase());
  const users = (options.users ?? ["postmaster", "abuse", "alice"]).map((u) => u.toLowerCase());
  const starttls = options.starttls ?? "none";
  const log = emptyLog();
  const tracker = new ConnectionTracker<net.Socket>(log);
  const byId = new Map<string, FakeSessionLog>();

  const record = (cid: unknown, line: string) => {
    const s = byId.get(String(cid));
    if (!s) return;
    s.commands.push(line);
    log.commands.push({ session: s.id, line });
  };
  const logger = {
    debug(entry: { tnx?: string; cid?: unknown }, message: string, ...args: unknown[]) {
      if (entry?.tnx === "command" && message === "C:") record(entry.cid, String(args[0] ?? ""));
    },
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    trace: () => undefined,
    fatal: () => undefined,
  };

  const own = (domain: string, session: SMTPServerSession) =>
    domains.includes(domain) || domain === hostname || domain === `[${plainAddress(session.localAddress)}]`;

  const server: SMTPServer = new SMTPServer({
    name: hostname,
    banner: "relaycheck-fake (smtp-server)",
    disableReverseLookup: true,
    authOptional: true,
    hideSTARTTLS: starttls === "none",
    disabledCommands: ["AUTH"],
    ...(starttls !== "none" ? selfSignedCert(hostname) : {}),
    logger: logger as unknown as boolean,
    onConnect(session, callback) {
      const s: FakeSessionLog = newSessionLog(log, session.remoteAddress, session.remotePort);
      log.sessions.push(s);
      byId.set(session.id, s);
      // DATA is refused outright (554) instead of smtp-server's 354: an own property of this
      // connection object, no prototype is touched.
      const connections = (server as unknown as { connections: Set<LibraryConnection> }).connections;
      for (const c of connections) {
        if (c.session !== session) continue;
        const refuse = (_command: Buffer, cb: () => void) => {
          log.dataAttempts++;
          c.send(554, "5.5.1 Error: DATA refused (a relaycheck fake never takes mail)");
          cb();
        };
        c.handler_DATA = refuse;
        c.handler_BDAT = refuse;
      }
      callback();
    },
    onSecure(_socket, session, callback) {
      const s = byId.get(session.id);
      if (s) s.tls = true;
      callback();
    },
    onMailFrom(_address: SMTPServerAddress, session, callback) {
      if (starttls === "required" && !session.secure) return callback(smtpError(530, "5.7.0 Must issue a STARTTLS command first"));
      callback();
    },
    onRcptTo(address: SMTPServerAddress, session, callback) {
      const domain = (address.address.split("@").pop() ?? "").toLowerCase();
      const local = (address.address.split("@")[0] ?? "").toLowerCase();
      const isOwn = own(domain, session);
      const denied = () => callback(smtpError(554, `5.7.1 <${address.address}>: Relaying denied`));
      switch (options.policy) {
        case "open":
          return callback();
        case "catch-all":
          return isOwn ? callback() : denied();
        case "greylist":
          if (!isOwn) return callback(smtpError(450, `4.7.1 <${address.address}>: Greylisted, try again later`));
          break;
        case "closed":
          break;
      }
      if (isOwn && users.includes(local)) return callback();
      if (isOwn) return callback(smtpError(550, `5.1.1 <${address.address}>: User unknown`));
      denied();
    },
    onClose(session) {
      const s = byId.get(session.id);
      if (s) s.end ??= "client";
    },
  });
  server.on("error", () => undefined);
  server.server.on("connection", (socket: net.Socket) => {
    tracker.add(socket);
    socket.on("close", () => tracker.remove(socket));
  });

  const port = await listen(server.server, host, options.port ?? 0);
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    log,
    idle: () => tracker.idle(),
    close() {
      closing ??= (async () => {
        const closed = closeServer(server.server);
        tracker.destroyAll();
        await closed;
      })();
      return closing;
    },
  };
}
