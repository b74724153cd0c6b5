import net from "node:net";
import tls from "node:tls";
import { ReplyParser, ReplyProtocolError, formatReply } from "./reply-parser";
import type { Transcript } from "./transcript";
import type { ConnectionStatus, ProbeLimits, ProbeTimeouts, SmtpReply, TlsInfo } from "./types";

/** A session ended: what happened on the wire, and the replies read before it did. */
export class SessionError extends Error {
  constructor(
    readonly status: ConnectionStatus,
    message: string,
    readonly replies: SmtpReply[] = [],
  ) {
    super(message);
    this.name = "SessionError";
  }
}

export interface SessionOptions {
  ip: string;
  port: number;
  /** Host name for SNI and certificate matching; null for an IP target. */
  servername: string | null;
  implicitTls: boolean;
  id: number;
  timeouts: ProbeTimeouts;
  limits: ProbeLimits;
  transcript: Transcript;
  /** Absolute time (performance.now()) after which every wait fails with "timeout". */
  deadline: number;
  signal?: AbortSignal;
  onReply?: (command: string | null, reply: SmtpReply) => void;
}

/** Longest wait for TLS 1.3 session tickets after the handshake (see `handshake`). */
const TICKET_WAIT_MAX_MS = 250;

/** After the 221, how long to let the server close the connection first. */
const SERVER_CLOSE_WAIT_MS = 500;

/** Short quit: the server's goodbye is not worth waiting long for. */
const QUIT_TIMEOUT_MS = 1_000;

interface Waiter {
  resolve: (reply: SmtpReply) => void;
  reject: (error: SessionError) => void;
}

/**
 * One SMTP connection: connect (plain or implicit TLS), read replies, send commands (one or a
 * pipelined group), upgrade with STARTTLS. It knows nothing of relay cases. Every wait has a
 * timeout; a misbehaving server ends the session with a `SessionError` carrying a status.
 */
export class SmtpSession {
  private socket: net.Socket | tls.TLSSocket;
  private readonly parser: ReplyParser;
  private readonly ready: SmtpReply[] = [];
  private waiter: Waiter | null = null;
  private failure: SessionError | null = null;
  tlsInfo: TlsInfo | null = null;

  private constructor(
    socket: net.Socket,
    private readonly options: SessionOptions,
  ) {
    this.socket = socket;
    this.parser = new ReplyParser(options.limits);
    this.listen(socket);
  }

  get id(): number {
    return this.options.id;
  }

  get secure(): boolean {
    return this.tlsInfo !== null && !this.tlsInfo.error;
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** Connects (and on port 465 completes the TLS handshake); resolves once connected. */
  static async open(options: SessionOptions): Promise<SmtpSession> {
    const { ip, port, transcript, id } = options;
    transcript.add(id, "info", `connecting to ${net.isIPv6(ip) ? `[${ip}]` : ip}:${port}`);
    const socket = net.connect({ host: ip, port, noDelay: true });
    // Errors after connect are handled by the session's own listeners.
    await waitFor<void>(socket, options, "connect", options.timeouts.connectMs, (done, fail) => {
      socket.once("connect", () => done());
      socket.once("error", (err: NodeJS.ErrnoException) => fail(connectError(err)));
    });
    transcript.add(id, "info", `connected from ${socket.localAddress}:${socket.localPort}`);
    const session = new SmtpSession(socket, options);
    if (options.implicitTls) await session.handshake("implicit");
    return session;
  }

  /** Reads the greeting: servers may delay it on purpose, so it has its own timeout. */
  readGreeting(): Promise<SmtpReply> {
    return this.read(null, this.options.timeouts.greetingMs);
  }

  /** Sends one command and reads its reply. */
  async command(line: string): Promise<SmtpReply> {
    const [reply] = await this.pipeline([line]);
    return reply!;
  }

  /**
   * Sends a group of commands in one write (RFC 2920 PIPELINING; a group of one without it) and
   * reads one reply per command. If the session ends part-way, the error carries the replies read.
   */
  async pipeline(lines: string[]): Promise<SmtpReply[]> {
    for (const line of lines) {
      if (/[\r\n\0]/.test(line)) throw new Error(`refusing to send a command with CR, LF or NUL: ${JSON.stringify(line)}`);
    }
    if (this.failure) throw this.failure;
    for (const line of lines) this.options.transcript.add(this.id, "client", line);
    this.socket.write(lines.map((l) => `${l}\r\n`).join(""));
    const replies: SmtpReply[] = [];
    for (const line of lines) {
      try {
        replies.push(await this.read(line, this.options.timeouts.commandMs));
      } catch (err) {
        if (err instanceof SessionError) throw new SessionError(err.status, err.message, replies);
        throw err;
      }
    }
    return replies;
  }

  /**
   * Sends a message after DATA's 354 and reads the reply to its end: each line dot-stuffed, all
   * joined with CRLF, then "." alone. A line holding CR, LF or NUL is refused. Only the proof
   * session (send-proof-message.ts) calls it: the relay probe itself never sends DATA.
   */
  async sendMessage(lines: string[]): Promise<SmtpReply> {
    for (const line of lines) {
      if (/[\r\n\0]/.test(line)) throw new Error(`refusing to send a message line with CR, LF or NUL: ${JSON.stringify(line)}`);
    }
    if (this.failure) throw this.failure;
    this.options.transcript.add(this.id, "client", `(message: ${lines.length} lines)`);
    this.options.transcript.add(this.id, "client", ".");
    const stuffed = lines.map((l) => (l.startsWith(".") ? `.${l}` : l));
    this.socket.write(`${stuffed.join("\r\n")}\r\n.\r\n`);
    return this.read(".", this.options.timeouts.commandMs);
  }

  /** STARTTLS after its 220: hands the socket to TLS; bytes buffered before it are dropped. */
  async upgrade(): Promise<TlsInfo> {
    const dropped = this.parser.reset() + this.ready.length;
    this.ready.length = 0;
    if (dropped) this.options.transcript.add(this.id, "info", `discarded ${dropped} bytes/replies sent before the TLS handshake`);
    return this.handshake("starttls");
  }

  /** Polite end: QUIT with a short wait, then close. Never throws. */
  async quit(): Promise<void> {
    if (!this.failure) {
      // After its 221 the server closes (RFC 5321 4.1.1.10). Waiting for that, briefly, means the
      // server has let go of the connection before we open the next one: servers that cap
      // connections per client count a session until they see it closed.
      let timer: NodeJS.Timeout | undefined;
      const serverClosed = new Promise<void>((resolve) => {
        this.socket.once("end", resolve);
        this.socket.once("close", resolve);
        timer = setTimeout(resolve, SERVER_CLOSE_WAIT_MS);
      });
      try {
        this.options.transcript.add(this.id, "client", "QUIT");
        this.socket.write("QUIT\r\n");
        await this.read("QUIT", QUIT_TIMEOUT_MS);
        await serverClosed;
      } catch {
        // The goodbye is optional.
      } finally {
        clearTimeout(timer);
      }
    }
    this.destroy();
  }

  destroy(): void {
    this.fail(new SessionError("closed", "session closed by the client"), false);
    this.socket.destroy();
  }

  private async handshake(mode: TlsInfo["mode"]): Promise<TlsInfo> {
    const { servername, timeouts, transcript, id } = this.options;
    const started = performance.now();
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    plain.removeAllListeners("error");
    plain.removeAllListeners("end");
    const secure = tls.connect({
      socket: plain,
      servername: servername ?? undefined,
      rejectUnauthorized: false, // we report the certificate; we do not refuse to test a server over it
    });
    let ticket = false;
    secure.once("session", () => (ticket = true));
    try {
      await waitFor<void>(secure, this.options, "TLS handshake", timeouts.tlsHandshakeMs, (done, fail) => {
        secure.once("secureConnect", () => done());
        secure.once("error", (err) => fail(new SessionError("tls-failed", `TLS handshake failed: ${err.message.trim()}`)));
        secure.once("close", () => fail(new SessionError("tls-failed", "the server closed the connection during the TLS handshake")));
      });
    } catch (err) {
      const error = err instanceof SessionError ? err : new SessionError("tls-failed", String(err));
      const failed = { ...emptyTlsInfo(mode), handshakeMs: performance.now() - started, error: error.message };
      this.tlsInfo = failed;
      transcript.add(id, "info", error.message);
      this.failure = error.status === "timeout" ? new SessionError("tls-failed", "the TLS handshake stalled") : error;
      secure.destroy();
      plain.destroy();
      throw this.failure;
    }
    secure.setNoDelay(true);
    if (secure.getProtocol() === "TLSv1.3" && !ticket) {
      // TLS 1.3 servers send session tickets just after the handshake. A command written before
      // they arrive leaves their ACK to the delayed-ACK timer, and the server's Nagle algorithm
      // holds its reply until then (~40 ms a session). Written after them, the command carries
      // the ACK. The wait is at most about one more round trip.
      const cap = Math.min(Math.max(performance.now() - started, 5), TICKET_WAIT_MAX_MS);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, cap);
        secure.once("session", () => {
          clearTimeout(timer);
          setImmediate(resolve); // not from inside OpenSSL's ticket callback: a write there stalls
        });
      });
    }
    this.socket = secure;
    this.listen(secure);
    this.tlsInfo = describeTls(secure, mode, servername, performance.now() - started);
    transcript.add(id, "info", `TLS established: ${this.tlsInfo.protocol ?? "?"} ${this.tlsInfo.cipher ?? ""}`.trim());
    return this.tlsInfo;
  }

  private listen(socket: net.Socket): void {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err: NodeJS.ErrnoException) => this.fail(socketError(err)));
    const closed = () =>
      this.fail(new SessionError("closed", this.parser.pending ? "the server closed the connection in the middle of a reply" : "the server closed the connection"));
    socket.on("end", closed);
    socket.on("close", closed);
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    let replies: SmtpReply[];
    try {
      replies = this.parser.feed(chunk);
    } catch (err) {
      if (!(err instanceof ReplyProtocolError)) throw err;
      if (err.line) this.options.transcript.add(this.id, "server", err.line);
      this.fail(new SessionError("protocol-error", err.message));
      this.socket.destroy();
      return;
    }
    for (const reply of replies) {
      for (const line of reply.lines) this.options.transcript.add(this.id, "server", line);
      if (this.waiter) {
        const { resolve } = this.waiter;
        this.waiter = null;
        resolve(reply);
      } else if (this.ready.length < 64) {
        this.ready.push(reply);
      } else {
        this.fail(new SessionError("protocol-error", "the server sent replies nobody asked for"));
        this.socket.destroy();
        return;
      }
    }
  }

  private fail(error: SessionError, record = true): void {
    if (this.failure) return;
    this.failure = error;
    if (record) this.options.transcript.add(this.id, "info", error.message);
    if (this.waiter) {
      const { reject } = this.waiter;
      this.waiter = null;
      reject(error);
    }
  }

  private read(command: string | null, timeoutMs: number): Promise<SmtpReply> {
    const queued = this.ready.shift();
    if (queued) {
      this.options.onReply?.(command, queued);
      return Promise.resolve(queued);
    }
    if (this.failure) return Promise.reject(this.failure);
    const { signal, deadline } = this.options;
    const ms = Math.max(0, Math.min(timeoutMs, deadline - performance.now()));
    const what = command === null ? "the greeting" : `the reply to ${command.split(" ")[0]}`;
    return new Promise<SmtpReply>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        cleanup();
        this.waiter = null;
        const error = new SessionError("aborted", "the check was cancelled");
        this.fail(error);
        this.socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => {
        cleanup();
        this.waiter = null;
        const error = new SessionError("timeout", `no complete reply within ${Math.round(ms)} ms waiting for ${what}`);
        this.fail(error);
        this.socket.destroy();
        reject(error);
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiter = {
        resolve: (reply) => {
          cleanup();
          this.options.onReply?.(command, reply);
          resolve(reply);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
    });
  }
}

/** Waits for a socket event with a timeout, the check's deadline and its abort signal. */
function waitFor<T>(
  socket: net.Socket,
  options: SessionOptions,
  what: string,
  timeoutMs: number,
  setup: (done: (value: T) => void, fail: (error: SessionError) => void) => void,
): Promise<T> {
  const ms = Math.max(0, Math.min(timeoutMs, options.deadline - performance.now()));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const onAbort = () => finish(() => {
      socket.destroy();
      reject(new SessionError("aborted", "the check was cancelled"));
    });
    const timer = setTimeout(() => finish(() => {
      socket.destroy();
      reject(new SessionError(what === "connect" ? "connect-timeout" : "timeout", `${what} timed out after ${Math.round(ms)} ms`));
    }), ms);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    setup(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => {
        socket.destroy();
        reject(error);
      }),
    );
  });
}

function connectError(err: NodeJS.ErrnoException): SessionError {
  switch (err.code) {
    case "ECONNREFUSED":
      return new SessionError("refused", "ECONNREFUSED: nothing listens on that port, or a firewall rejects the connection");
    case "ETIMEDOUT":
      return new SessionError("connect-timeout", "connection timed out");
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EADDRNOTAVAIL":
    case "EAFNOSUPPORT":
      return new SessionError("unreachable", `no route to the server (${err.code})`);
    case "ECONNRESET":
      return new SessionError("reset", "connection reset while connecting");
    default:
      return new SessionError("unreachable", `could not connect: ${err.code ?? err.message}`);
  }
}

function socketError(err: NodeJS.ErrnoException): SessionError {
  if (err.code === "ECONNRESET" || err.code === "EPIPE") return new SessionError("reset", "the server reset the connection");
  if (err.code === "ETIMEDOUT") return new SessionError("timeout", "the connection timed out");
  return new SessionError("reset", `connection error: ${err.code ?? err.message}`);
}

function emptyTlsInfo(mode: TlsInfo["mode"]): TlsInfo {
  return {
    mode,
    protocol: null,
    cipher: null,
    subject: null,
    issuer: null,
    subjectAltNames: [],
    validFrom: null,
    validTo: null,
    expired: null,
    selfSigned: null,
    hostnameMatch: null,
    authorized: false,
    authorizationError: null,
    handshakeMs: 0,
  };
}

function describeName(name: tls.Certificate | undefined): string | null {
  if (!name) return null;
  const parts = Object.entries(name)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`);
  return parts.length ? parts.join(", ") : null;
}

function describeTls(socket: tls.TLSSocket, mode: TlsInfo["mode"], servername: string | null, handshakeMs: number): TlsInfo {
  const cert = socket.getPeerCertificate();
  const hasCert = cert && Object.keys(cert).length > 0;
  const validTo = hasCert && cert.valid_to ? new Date(cert.valid_to) : null;
  const validFrom = hasCert && cert.valid_from ? new Date(cert.valid_from) : null;
  const sans = hasCert && cert.subjectaltname ? cert.subjectaltname.split(", ").map((s) => s.replace(/^DNS:/, "")) : [];
  const subject = hasCert ? describeName(cert.subject) : null;
  const issuer = hasCert ? describeName(cert.issuer) : null;
  let hostnameMatch: boolean | null = null;
  if (hasCert && servername) hostnameMatch = tls.checkServerIdentity(servername, cert) === undefined;
  const now = Date.now();
  return {
    mode,
    protocol: socket.getProtocol(),
    cipher: socket.getCipher()?.name ?? null,
    subject,
    issuer,
    subjectAltNames: sans,
    validFrom: validFrom && !Number.isNaN(validFrom.getTime()) ? validFrom.toISOString() : null,
    validTo: validTo && !Number.isNaN(validTo.getTime()) ? validTo.toISOString() : null,
    expired: validTo && validFrom ? now > validTo.getTime() || now < validFrom.getTime() : null,
    selfSigned: hasCert ? subject !== null && subject === issuer : null,
    hostnameMatch,
    authorized: socket.authorized,
    authorizationError: socket.authorizationError ? String(socket.authorizationError) : null,
    handshakeMs: Math.round(handshakeMs * 100) / 100,
  };
}

export { formatReply };
