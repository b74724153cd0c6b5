/**
 * A configurable fake SMTP server on raw `node:net` (+ `node:tls` for STARTTLS), byte-exact and
 * with every knob the engine tests need: relay policy, greylisting, greeting delay and shape,
 * EHLO refusal, STARTTLS offered or required, error limits (Exim's hang-up, Postfix's tarpit),
 * a per-client connection cap. Every command line is logged; DATA is always refused with 554.
 *
 * The recipient policies, in terms of the recipient's domain (after the last "@", after any
 * source route; an unqualified address counts as the server's own, which it would qualify it
 * with) and local part; a malformed address (trailing "@") gets 501 unless the policy takes it:
 * - `open`: accepts every recipient;
 * - `closed`: accepts known users (`users`) at its own domains (`domains`, its host name, and
 *   `[its IP]`), "User unknown" for other local parts there, 554 5.7.1 "Relaying denied" for the
 *   rest;
 * - `catch-all`: accepts any local part at its own domains, 554 5.7.1 for the rest;
 * - `trick-vulnerable`: like `closed`, but accepts the address tricks: a local part with `%`,
 *   `!` or `@`, or an address with two `@` — whatever domain it ends in.
 */
import net from "node:net";
import tls from "node:tls";
import { listen, closeServer, newSessionLog, plainAddress } from "./listen";
import { selfSignedCert } from "./tls-cert";
import { ConnectionTracker, emptyLog, type FakeLog, type FakeServer, type FakeSessionLog } from "./types";

export interface Reply {
  code: number;
  /** Reply text lines, enhanced code included ("5.7.1 Relaying denied"). */
  lines: string[];
}

export interface AddressInfo {
  /** The address as sent, without angle brackets. */
  raw: string;
  /** The address after stripping a source route (`@a,@b:`). */
  address: string;
  sourceRoute: boolean;
  local: string;
  /** "" when unqualified or malformed. */
  domain: string;
  /** No domain at all: the server qualifies it with its own domain (so it counts as own). */
  unqualified: boolean;
  /** A trailing "@", an empty local part, an unclosed quote. */
  malformed: boolean;
  atCount: number;
  /** Local part with `%`, `!` or `@`, or two `@` in all: a relay trick if the server honours it. */
  trick: boolean;
  ownDomain: boolean;
}

export interface RcptContext {
  rcpt: AddressInfo;
  mailFrom: string;
  tls: boolean;
  session: number;
  users: string[];
}

export type RelayPolicyName = "open" | "closed" | "catch-all" | "trick-vulnerable";
export type RelayPolicy = RelayPolicyName | ((ctx: RcptContext) => Reply);

export interface ErrorLimits {
  /** From this many errors on, every reply waits `sleepMs` first (Postfix: 10, 1 s). */
  softLimit?: number;
  sleepMs?: number;
  /** At this many errors the server says 421 and hangs up (Postfix: 20; Exim-like: 3). */
  hardLimit?: number;
}

export interface ScriptedSmtpOptions {
  host?: string;
  port?: number;
  hostname?: string;
  domains?: string[];
  users?: string[];
  policy?: RelayPolicy;
  /** Policy once TLS is on (default: `policy`). */
  policyAfterTls?: RelayPolicy;
  /** 450 4.7.1 to every RCPT of a third party, or to every RCPT. */
  greylist?: "off" | "third-party" | "all";
  /**
   * With `greylist`: a (sender, recipient) pair seen this long ago or more passes on to the
   * policy, as greylisting lets a retry through (default: never).
   */
  greylistDelayMs?: number;
  /** Overrides the reply to MAIL FROM (after the syntax checks); undefined keeps the normal one. */
  onMail?: (ctx: { sender: string; session: number; mailsInSession: number }) => Reply | undefined;
  /** Exim: `MAIL FROM:<x@[1.2.3.4]>` → 501. */
  rejectIpLiteralSenders?: boolean;
  /** Full greeting text lines after "220" (default: "<hostname> ESMTP relaycheck-fake"). */
  greeting?: string[];
  greetingDelayMs?: number;
  /** "reject": EHLO answers 502 5.5.1, HELO works. */
  ehlo?: "ok" | "reject";
  pipelining?: boolean;
  starttls?: "none" | "offered" | "required";
  /** Extra EHLO keywords, e.g. "AUTH PLAIN LOGIN". */
  extensions?: string[];
  errorLimits?: ErrorLimits;
  /** More sessions at once than this get "421" at connect (a session ends at QUIT or hang-up). */
  maxConnections?: number;
  /** Keep counting a session against maxConnections this long after it ended (as Postfix does). */
  slotReleaseDelayMs?: number;
  /** Relay-denied reply code (554 like Postfix, or 550). */
  relayDeniedCode?: 550 | 554;
}

const MAX_COMMAND_BYTES = 64 * 1024;

/** A source route: "@a.example,@[192.0.2.1]:" before the address. */
const SOURCE_ROUTE = /^@(?:\[[^\]]*\]|[^:,[\]]+)(?:,@(?:\[[^\]]*\]|[^:,[\]]+))*:/;

export function analyseAddress(raw: string, own: (domain: string) => boolean): AddressInfo {
  const routed = SOURCE_ROUTE.exec(raw);
  const address = routed ? raw.slice(routed[0].length) : raw;
  let local: string;
  let domain: string | null; // null: unqualified, the server qualifies it with its own domain
  let malformed = false;
  if (address.startsWith('"')) {
    const close = address.indexOf('"', 1);
    const rest = close < 0 ? "" : address.slice(close + 1);
    local = close < 0 ? address : address.slice(0, close + 1);
    domain = rest === "" ? null : rest.startsWith("@") ? rest.slice(1) : "";
    malformed = close < 0 || (rest !== "" && !rest.startsWith("@"));
  } else {
    const at = address.lastIndexOf("@");
    local = at < 0 ? address : address.slice(0, at);
    domain = at < 0 ? null : address.slice(at + 1);
  }
  if (domain === "" || local === "") malformed = true;
  const atCount = (address.match(/@/g) ?? []).length;
  return {
    raw,
    address,
    sourceRoute: !!routed,
    local,
    domain: (domain ?? "").toLowerCase(),
    unqualified: domain === null,
    malformed,
    atCount,
    trick: /[%!@]/.test(local) || atCount >= 2,
    ownDomain: domain === null || (domain !== "" && own(domain.toLowerCase())),
  };
}

const ok = (text = "2.1.5 Ok"): Reply => ({ code: 250, lines: [text] });

function decide(policy: RelayPolicy, ctx: RcptContext, relayDeniedCode: number): Reply {
  if (typeof policy === "function") return policy(ctx);
  const { rcpt } = ctx;
  const knownUser = rcpt.ownDomain && ctx.users.includes(rcpt.local.toLowerCase());
  const unknownUser: Reply = { code: 550, lines: [`5.1.1 <${rcpt.raw}>: Recipient address rejected: User unknown`] };
  const denied: Reply = { code: relayDeniedCode, lines: [`5.7.1 <${rcpt.raw}>: Relaying denied`] };
  const honoured = policy === "open" || (policy === "trick-vulnerable" && rcpt.trick);
  if (rcpt.malformed && !honoured) return { code: 501, lines: [`5.1.3 <${rcpt.raw}>: Bad recipient address syntax`] };
  switch (policy) {
    case "open":
      return ok();
    case "catch-all":
      return rcpt.ownDomain ? ok() : denied;
    case "trick-vulnerable":
      if (knownUser || rcpt.trick) return ok();
      return rcpt.ownDomain ? unknownUser : denied;
    case "closed":
      if (knownUser) return ok();
      return rcpt.ownDomain ? unknownUser : denied;
  }
}

interface SessionState {
  log: FakeSessionLog;
  stream: net.Socket | tls.TLSSocket;
  helo: boolean;
  mailFrom: string | null;
  tls: boolean;
  closed: boolean;
}

export async function startScriptedSmtp(options: ScriptedSmtpOptions = {}): Promise<FakeServer> {
  const host = options.host ?? "127.0.0.1";
  const hostname = options.hostname ?? "mx.closed.test";
  const domains = (options.domains ?? ["closed.test"]).map((d) => d.toLowerCase());
  const users = (options.users ?? ["postmaster", "abuse", "alice"]).map((u) => u.toLowerCase());
  const policy = options.policy ?? "closed";
  const starttls = options.starttls ?? "none";
  const limits = options.errorLimits ?? {};
  const relayDeniedCode = options.relayDeniedCode ?? 554;
  const greeting = options.greeting ?? [`${hostname} ESMTP relaycheck-fake`];
  const secureContext = starttls === "none" ? null : tls.createSecureContext(selfSignedCert(hostname));

  const log: FakeLog = emptyLog();
  log.maxSessionsAtOnce = 0;
  /** When each (sender, recipient) pair was first greylisted. */
  const greylisted = new Map<string, number>();
  const tracker = new ConnectionTracker<net.Socket>(log);
  // Sessions counted by the connection cap: a session leaves it when it ends (QUIT or hang-up),
  // not when its socket finally closes, so a client that reconnects right after 221 is not
  // refused by a race the test cannot control.
  const capped = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const server = net.createServer((socket) => {
    tracker.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => undefined);
    const session: SessionState = {
      log: newSessionLog(log, socket.remoteAddress, socket.remotePort),
      stream: socket,
      helo: false,
      mailFrom: null,
      tls: false,
      closed: false,
    };
    log.sessions.push(session.log);
    const release = () => {
      if (!options.slotReleaseDelayMs) return void capped.delete(socket);
      const t = setTimeout(() => {
        timers.delete(t);
        capped.delete(socket);
      }, options.slotReleaseDelayMs);
      timers.add(t);
    };
    socket.on("close", () => {
      session.closed = true;
      session.log.end ??= "client";
      release();
      tracker.remove(socket);
    });

    const localIp = plainAddress(socket.localAddress);
    const own = (domain: string) => domains.includes(domain) || domain === hostname.toLowerCase() || domain === `[${localIp}]` || domain === `[ipv6:${localIp}]`;

    const write = (data: string) => {
      if (!session.closed && !session.stream.destroyed) session.stream.write(data, "latin1");
    };
    const hangUp = () => {
      release();
      // The server is done with the session once it has said goodbye and closed its side (as
      // Postfix's anvil counts it): the client's own FIN may come a moment later.
      tracker.remove(socket);
      session.log.end ??= "server";
      session.closed = true;
      session.stream.end();
    };
    const reply = async (r: Reply, opts: { final?: boolean } = {}) => {
      if (session.closed) return;
      if (limits.softLimit !== undefined && session.log.errors >= limits.softLimit) {
        log.tarpitted++;
        await delay(limits.sleepMs ?? 1000);
        if (session.closed) return;
      }
      const lines = r.lines.length ? r.lines : [""];
      write(lines.map((l, i) => `${r.code}${i < lines.length - 1 ? "-" : " "}${l}\r\n`).join(""));
      session.log.replies.push(`${r.code} ${lines[0]}`);
      if (opts.final) return hangUp();
      if (r.code >= 400) {
        session.log.errors++;
        if (limits.hardLimit !== undefined && session.log.errors >= limits.hardLimit) {
          write(`421 4.7.0 ${hostname} Error: too many errors\r\n`);
          session.log.replies.push(`421 4.7.0 ${hostname} Error: too many errors`);
          hangUp();
        }
      }
    };

    capped.add(socket);
    if (!options.slotReleaseDelayMs) log.maxSessionsAtOnce = Math.max(log.maxSessionsAtOnce ?? 0, capped.size);
    if (options.maxConnections !== undefined && capped.size > options.maxConnections) {
      log.refusedConnections++;
      void reply({ code: 421, lines: [`4.7.0 ${hostname} Error: too many connections from ${session.log.remoteAddress}`] }, { final: true });
      return;
    }

    const upgrade = () => {
      socket.removeListener("data", onData);
      buffer = Buffer.alloc(0); // plaintext pipelined after STARTTLS is discarded (RFC 3207)
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: secureContext! });
      secure.on("error", () => socket.destroy());
      secure.on("secure", () => {
        session.tls = session.log.tls = true;
        session.helo = false;
        session.mailFrom = null;
      });
      secure.on("data", onData);
      session.stream = secure;
    };

    let mailsInSession = 0;
    const handle = async (line: string): Promise<void> => {
      if (session.closed) return;
      session.log.commands.push(line);
      log.commands.push({ session: session.log.id, line });
      const verb = (line.split(" ")[0] ?? "").toUpperCase();
      switch (verb) {
        case "EHLO": {
          if (options.ehlo === "reject") return reply({ code: 502, lines: ["5.5.1 Error: command not implemented"] });
          session.helo = true;
          session.mailFrom = null;
          const ext = [hostname];
          if (options.pipelining !== false) ext.push("PIPELINING");
          ext.push("SIZE 10240000");
          if (starttls !== "none" && !session.tls) ext.push("STARTTLS");
          ext.push(...(options.extensions ?? []), "ENHANCEDSTATUSCODES", "8BITMIME");
          return reply({ code: 250, lines: ext });
        }
        case "HELO":
          session.helo = true;
          session.mailFrom = null;
          return reply({ code: 250, lines: [hostname] });
        case "STARTTLS":
          if (starttls === "none" || options.ehlo === "reject") return reply({ code: 502, lines: ["5.5.1 Error: command not implemented"] });
          if (session.tls) return reply({ code: 554, lines: ["5.5.1 Error: TLS already active"] });
          await reply({ code: 220, lines: ["2.0.0 Ready to start TLS"] });
          if (!session.closed) upgrade();
          return;
        case "MAIL": {
          if (!session.helo) return reply({ code: 503, lines: ["5.5.1 Error: send HELO/EHLO first"] });
          if (starttls === "required" && !session.tls) return reply({ code: 530, lines: ["5.7.0 Must issue a STARTTLS command first"] });
          if (session.mailFrom !== null) return reply({ code: 503, lines: ["5.5.1 Error: nested MAIL command"] });
          const m = /^MAIL FROM:\s?<(.*)>((?:\s+\S+)*)$/i.exec(line);
          if (!m) return reply({ code: 501, lines: ["5.5.4 Syntax: MAIL FROM:<address>"] });
          const sender = m[1] ?? "";
          if (options.rejectIpLiteralSenders && /@\[[^\]]*\]$/.test(sender)) {
            return reply({ code: 501, lines: [`<${sender}>: domain literals not allowed`] });
          }
          const override = options.onMail?.({ sender, session: session.log.id, mailsInSession: ++mailsInSession });
          if (override) return reply(override);
          session.mailFrom = sender;
          return reply({ code: 250, lines: ["2.1.0 Ok"] });
        }
        case "RCPT": {
          if (starttls === "required" && !session.tls) return reply({ code: 530, lines: ["5.7.0 Must issue a STARTTLS command first"] });
          if (session.mailFrom === null) return reply({ code: 503, lines: ["5.5.1 Error: need MAIL command"] });
          const m = /^RCPT TO:\s?<(.*)>((?:\s+\S+)*)$/i.exec(line);
          if (!m) return reply({ code: 501, lines: ["5.5.4 Syntax: RCPT TO:<address>"] });
          const rcpt = analyseAddress(m[1] ?? "", own);
          const greylist = options.greylist ?? "off";
          if (greylist === "all" || (greylist === "third-party" && !rcpt.ownDomain)) {
            const pair = `${session.mailFrom} ${rcpt.raw}`;
            const since = greylisted.get(pair);
            if (since === undefined) greylisted.set(pair, Date.now());
            const passes = options.greylistDelayMs !== undefined && since !== undefined && Date.now() - since >= options.greylistDelayMs;
            if (!passes) return reply({ code: 450, lines: [`4.7.1 <${rcpt.raw}>: Recipient address rejected: Greylisted, try again later`] });
          }
          const p = session.tls ? (options.policyAfterTls ?? policy) : policy;
          return reply(decide(p, { rcpt, mailFrom: session.mailFrom, tls: session.tls, session: session.log.id, users }, relayDeniedCode));
        }
        case "DATA":
        case "BDAT":
          log.dataAttempts++;
          return reply({ code: 554, lines: ["5.5.1 Error: DATA refused (a relaycheck fake never takes mail)"] });
        case "RSET":
          session.mailFrom = null;
          return reply({ code: 250, lines: ["2.0.0 Ok"] });
        case "NOOP":
          return reply({ code: 250, lines: ["2.0.0 Ok"] });
        case "VRFY":
          return reply({ code: 252, lines: ["2.0.0 Cannot VRFY user"] });
        case "QUIT":
          session.log.end = "quit";
          return reply({ code: 221, lines: ["2.0.0 Bye"] }, { final: true });
        default:
          return reply({ code: 500, lines: ["5.5.2 Error: command not recognized"] });
      }
    };

    // Commands are answered strictly in order, also when pipelined or when a reply is delayed.
    let chain: Promise<void> = (options.greetingDelayMs ? delay(options.greetingDelayMs) : Promise.resolve()).then(() =>
      reply({ code: 220, lines: greeting }),
    );
    let buffer = Buffer.alloc(0);
    function onData(chunk: Buffer) {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const nl = buffer.indexOf(0x0a);
        if (nl < 0) break;
        const line = buffer.subarray(0, nl).toString("latin1").replace(/\r$/, "");
        buffer = buffer.subarray(nl + 1);
        chain = chain.then(() => handle(line));
      }
      if (buffer.length > MAX_COMMAND_BYTES) {
        buffer = Buffer.alloc(0);
        chain = chain.then(() => reply({ code: 500, lines: ["5.5.2 Error: line too long"] }));
      }
    }
    socket.on("data", onData);
  });

  const port = await listen(server, host, options.port ?? 0);
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    log,
    idle: () => tracker.idle(),
    close() {
      closing ??= (async () => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        const closed = closeServer(server);
        tracker.destroyAll();
        await closed;
      })();
      return closing;
    },
  };
}
