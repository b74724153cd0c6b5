/**
 * The fakes themselves, checked with a raw SMTP client (not the engine): each plays its
 * behaviour, logs every command, refuses DATA, and frees its connections.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connectRaw, type RawSmtpClient } from "@/tests/support/raw-smtp";
import { JUNK, startHostile } from "./hostile";
import { startLibrarySmtp } from "./library-smtp";
import {
  SCRIPT_BANNER,
  startCatchAll,
  startClosed,
  startDelayedGreeting,
  startDropAfterErrors,
  startGreylisting,
  startHeloOnly,
  startOpenRelay,
  startScriptBanner,
  startSingleConnection,
  startStartTlsRequired,
  startTarpit,
  startTrickVulnerable,
} from "./presets";
import { analyseAddress } from "./scripted-smtp";
import type { FakeServer } from "./types";

const servers: FakeServer[] = [];
const clients: RawSmtpClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function up<T extends FakeServer>(p: Promise<T>): Promise<T> {
  const s = await p;
  servers.push(s);
  return s;
}

async function session(server: FakeServer, helo = "EHLO relaycheck.invalid"): Promise<RawSmtpClient> {
  const c = await connectRaw(server.host, server.port);
  clients.push(c);
  expect((await c.read()).code).toBe(220);
  await c.command(helo);
  return c;
}

/** MAIL + RCPT + RSET; the RCPT reply code (or the MAIL one when MAIL is refused). */
async function rcpt(c: RawSmtpClient, to: string, from = "relaycheck@relaycheck.invalid"): Promise<number> {
  const mail = await c.command(`MAIL FROM:<${from}>`);
  if (mail.code !== 250) return mail.code;
  const r = await c.command(`RCPT TO:<${to}>`);
  await c.command("RSET");
  return r.code;
}

describe("address analysis", () => {
  const own = (d: string) => d === "closed.test" || d === "[127.0.0.1]";
  it.each([
    ["relaytest@relay-target.invalid", false, false],
    ['"relaytest@relay-target.invalid"', true, true],
    ['"relaytest%relay-target.invalid"', true, true],
    ["relay-target.invalid!relaytest", true, true],
    ["postmaster", false, true],
    ["relaytest@relay-target.invalid@", true, false],
    ["@[127.0.0.1]:relaytest@relay-target.invalid", false, false],
    ["@[IPv6:::1],@closed.test:relaytest@relay-target.invalid", false, false],
    ["relaytest%relay-target.invalid@closed.test", true, true],
    ["relay-target.invalid!relaytest@closed.test", true, true],
    ["relaytest@relay-target.invalid@closed.test", true, true],
    ['"relaytest@relay-target.invalid"@closed.test', true, true],
    ["@closed.test:relaytest@relay-target.invalid", false, false],
    ["relaytest%relay-target.invalid@[127.0.0.1]", true, true],
    ["postmaster@closed.test", false, true],
  ])("%s → trick %s, own %s", (addr, trick, ownDomain) => {
    const a = analyseAddress(addr, own);
    expect(a.trick).toBe(trick);
    expect(a.ownDomain).toBe(ownDomain);
  });
});

describe("scripted fakes", () => {
  it("open relay accepts everything, logs every command, refuses DATA with 554", async () => {
    const s = await up(startOpenRelay());
    expect(s.host).toBe("127.0.0.1");
    const c = await session(s);
    expect(await rcpt(c, "relaytest@relay-target.invalid")).toBe(250);
    await c.command("MAIL FROM:<>");
    await c.command("RCPT TO:<relaytest@relay-target.invalid>");
    expect((await c.command("DATA")).code).toBe(554);
    expect((await c.command("QUIT")).code).toBe(221);
    await c.closed;
    expect(s.log.dataAttempts).toBe(1);
    expect(s.log.commands.map((x) => x.line)).toEqual([
      "EHLO relaycheck.invalid",
      "MAIL FROM:<relaycheck@relaycheck.invalid>",
      "RCPT TO:<relaytest@relay-target.invalid>",
      "RSET",
      "MAIL FROM:<>",
      "RCPT TO:<relaytest@relay-target.invalid>",
      "DATA",
      "QUIT",
    ]);
    expect(s.log.sessions[0]?.end).toBe("quit");
    await s.idle();
  });

  it("closed: known users at its domains, 554 5.7.1 Relaying denied for third parties", async () => {
    const s = await up(startClosed());
    const c = await session(s);
    expect(await rcpt(c, "postmaster@closed.test")).toBe(250);
    expect(await rcpt(c, "postmaster@mx.closed.test")).toBe(250);
    expect(await rcpt(c, "postmaster@[127.0.0.1]")).toBe(250);
    expect(await rcpt(c, "random-x1@closed.test")).toBe(550);
    expect(await rcpt(c, "relaytest%relay-target.invalid@closed.test")).toBe(550);
    expect(await rcpt(c, "postmaster")).toBe(250);
    expect(await rcpt(c, '"relaytest@relay-target.invalid"')).toBe(550);
    expect(await rcpt(c, "relaytest@relay-target.invalid@")).toBe(501);
    await c.command("MAIL FROM:<a@b.test>");
    const r = await c.command("RCPT TO:<relaytest@relay-target.invalid>");
    expect(r.code).toBe(554);
    expect(r.text).toMatch(/^5\.7\.1 .*Relaying denied/);
  });

  it("catch-all: any local part at its domain, name and [ip]; not third parties", async () => {
    const s = await up(startCatchAll());
    const c = await session(s);
    expect(await rcpt(c, "random-x1@catchall.test")).toBe(250);
    expect(await rcpt(c, "relaytest%relay-target.invalid@mx.catchall.test")).toBe(250);
    expect(await rcpt(c, "relay-target.invalid!relaytest@[127.0.0.1]")).toBe(250);
    expect(await rcpt(c, "rc-random")).toBe(250);
    expect(await rcpt(c, "relaytest@relay-target.invalid")).toBe(554);
  });

  it("trick-vulnerable: refuses the plain form, accepts %, ! and @@ forms", async () => {
    const s = await up(startTrickVulnerable());
    const c = await session(s);
    expect(await rcpt(c, "relaytest@relay-target.invalid")).toBe(554);
    expect(await rcpt(c, "random-x1@tricky.test")).toBe(550);
    expect(await rcpt(c, "relaytest%relay-target.invalid@[127.0.0.1]")).toBe(250);
    expect(await rcpt(c, "relaytest%relay-target.invalid@tricky.test")).toBe(250);
    expect(await rcpt(c, "relay-target.invalid!relaytest@tricky.test")).toBe(250);
    expect(await rcpt(c, "relaytest@relay-target.invalid@tricky.test")).toBe(250);
    expect(await rcpt(c, '"relaytest@relay-target.invalid"@tricky.test')).toBe(250);
    expect(await rcpt(c, "@tricky.test:relaytest@relay-target.invalid")).toBe(554);
    expect(await rcpt(c, '"relaytest@relay-target.invalid"')).toBe(250);
    expect(await rcpt(c, "relay-target.invalid!relaytest")).toBe(250);
    expect(await rcpt(c, "relaytest@relay-target.invalid@")).toBe(250);
  });

  it("greylisting: 450 4.7.1 to third parties (or to all)", async () => {
    const s = await up(startGreylisting());
    const c = await session(s);
    expect(await rcpt(c, "postmaster@grey.test")).toBe(250);
    await c.command("MAIL FROM:<a@b.test>");
    const r = await c.command("RCPT TO:<relaytest@relay-target.invalid>");
    expect(r.code).toBe(450);
    expect(r.text).toMatch(/^4\.7\.1 /);
    const all = await up(startGreylisting({ scope: "all" }));
    expect(await rcpt(await session(all), "postmaster@grey.test")).toBe(450);
  });

  it("delayed greeting: nothing before the delay, then a (multi-line) 220", async () => {
    const s = await up(startDelayedGreeting({ delayMs: 300, multiline: true }));
    const c = await connectRaw(s.host, s.port);
    clients.push(c);
    const t0 = Date.now();
    const g = await c.read();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(g.code).toBe(220);
    expect(g.lines).toHaveLength(3);
    expect(g.lines[0]).toMatch(/^220-/);
  });

  it("STARTTLS required: 530 5.7.0 before TLS, the policy after it", async () => {
    const s = await up(startStartTlsRequired({ afterTls: "open" }));
    const c = await session(s);
    const mail = await c.command("MAIL FROM:<a@b.test>");
    expect(mail.code).toBe(530);
    expect(mail.text).toBe("5.7.0 Must issue a STARTTLS command first");
    expect((await c.command("STARTTLS")).code).toBe(220);
    await c.startTls("mx.tls.test");
    const ehlo = await c.command("EHLO relaycheck.invalid");
    expect(ehlo.lines.join("\n")).not.toContain("STARTTLS");
    expect(await rcpt(c, "relaytest@relay-target.invalid")).toBe(250);
    expect(s.log.sessions[0]?.tls).toBe(true);
  });

  it("drop after 3 errors (Exim-like): 501 for IP-literal senders, 421 and close at the 3rd error", async () => {
    const s = await up(startDropAfterErrors());
    const c = await session(s);
    expect((await c.command("MAIL FROM:<relaycheck@[127.0.0.1]>")).code).toBe(501);
    expect(await rcpt(c, "relaytest@relay-target.invalid")).toBe(554);
    expect((await c.command("MAIL FROM:<a@b.test>")).code).toBe(250);
    expect((await c.command("RCPT TO:<relaytest@relay-target.invalid>")).code).toBe(554);
    expect((await c.read()).code).toBe(421);
    await c.closed;
    expect(s.log.sessions[0]?.end).toBe("server");
  });

  it("tarpit (Postfix-like): slows every reply from the soft limit, 421 at the hard limit", async () => {
    const s = await up(startTarpit({ softLimit: 2, hardLimit: 4, sleepMs: 50 }));
    const c = await session(s);
    expect(await rcpt(c, "a@relay-target.invalid")).toBe(554);
    expect(s.log.tarpitted).toBe(0);
    await c.command("MAIL FROM:<a@b.test>");
    expect((await c.command("RCPT TO:<b@relay-target.invalid>")).code).toBe(554);
    expect(s.log.tarpitted).toBe(0);
    expect((await c.command("RSET")).code).toBe(250); // from the 2nd error on, every reply waits
    expect(s.log.tarpitted).toBe(1);
    await c.command("MAIL FROM:<a@b.test>");
    expect((await c.command("RCPT TO:<c@relay-target.invalid>")).code).toBe(554);
    await c.command("RSET");
    await c.command("MAIL FROM:<a@b.test>");
    expect((await c.command("RCPT TO:<d@relay-target.invalid>")).code).toBe(554);
    expect((await c.read()).code).toBe(421);
    await c.closed;
  });

  it("HELO only: EHLO gets 502 5.5.1, HELO works", async () => {
    const s = await up(startHeloOnly());
    const c = await connectRaw(s.host, s.port);
    clients.push(c);
    await c.read();
    const e = await c.command("EHLO relaycheck.invalid");
    expect(e.code).toBe(502);
    expect(e.text).toMatch(/^5\.5\.1/);
    expect((await c.command("HELO relaycheck.invalid")).code).toBe(250);
    expect(await rcpt(c, "postmaster@helo.test")).toBe(250);
  });

  it("single connection: a second concurrent connection gets 421", async () => {
    const s = await up(startSingleConnection());
    const first = await session(s);
    const second = await connectRaw(s.host, s.port);
    clients.push(second);
    expect((await second.read()).code).toBe(421);
    await second.closed;
    expect(await rcpt(first, "postmaster@single.test")).toBe(250);
    expect(s.log.refusedConnections).toBe(1);
    expect(s.log.maxConcurrent).toBe(2);
  });

  it("script banner: markup goes out as is", async () => {
    const s = await up(startScriptBanner());
    const c = await connectRaw(s.host, s.port);
    clients.push(c);
    expect((await c.read()).text).toBe(SCRIPT_BANNER);
  });

  it("serves pipelined commands in order", async () => {
    const s = await up(startClosed());
    const c = await session(s);
    const sock = net.connect({ host: s.host, port: s.port });
    await new Promise((r) => sock.once("connect", r));
    let got = "";
    const done = new Promise<void>((resolve) =>
      sock.on("data", (d) => {
        got += d.toString();
        if (got.includes("221 ")) resolve();
      }),
    );
    sock.write("EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<postmaster@closed.test>\r\nRCPT TO:<x@relay-target.invalid>\r\nRSET\r\nQUIT\r\n");
    await done;
    const codes = got.split("\r\n").filter((l) => /^\d{3} /.test(l)).map((l) => l.slice(0, 3));
    expect(codes).toEqual(["220", "250", "250", "250", "554", "250", "221"]);
    sock.destroy();
    c.close();
    await s.idle();
  });
});

describe("smtp-server (library) fakes", () => {
  it("closed: relaying denied, DATA refused and logged", async () => {
    const s = await up(startLibrarySmtp({ policy: "closed", hostname: "mx.lib.test", domains: ["lib.test"] }));
    const c = await session(s);
    expect(await rcpt(c, "postmaster@lib.test")).toBe(250);
    expect(await rcpt(c, "relaytest@relay-target.invalid")).toBe(554);
    await c.command("MAIL FROM:<a@b.test>");
    await c.command("RCPT TO:<postmaster@lib.test>");
    expect((await c.command("DATA")).code).toBe(554);
    expect(s.log.dataAttempts).toBe(1);
    expect(s.log.commands.map((x) => x.line)).toContain("RCPT TO:<relaytest@relay-target.invalid>");
    expect(s.log.sessions).toHaveLength(1);
  });

  it("open, catch-all, greylist", async () => {
    const open = await up(startLibrarySmtp({ policy: "open" }));
    expect(await rcpt(await session(open), "relaytest@relay-target.invalid")).toBe(250);
    const catchAll = await up(startLibrarySmtp({ policy: "catch-all", domains: ["lib.test"] }));
    const cc = await session(catchAll);
    expect(await rcpt(cc, "random-1@lib.test")).toBe(250);
    expect(await rcpt(cc, "relaytest@relay-target.invalid")).toBe(554);
    const grey = await up(startLibrarySmtp({ policy: "greylist" }));
    expect(await rcpt(await session(grey), "relaytest@relay-target.invalid")).toBe(450);
  });

  it("STARTTLS required", async () => {
    const s = await up(startLibrarySmtp({ policy: "open", starttls: "required", hostname: "mx.lib.test" }));
    const c = await session(s);
    expect((await c.command("MAIL FROM:<a@b.test>")).code).toBe(530);
    expect((await c.command("STARTTLS")).code).toBe(220);
    await c.startTls("mx.lib.test");
    await c.command("EHLO relaycheck.invalid");
    expect(await rcpt(c, "relaytest@relay-target.invalid")).toBe(250);
    expect(s.log.sessions[0]?.tls).toBe(true);
  });
});

describe("hostile fakes", () => {
  /** Connects, collects bytes until `until(total)` says stop (or the server closes), then hangs up. */
  async function collect(s: FakeServer, until: (total: number) => boolean, send?: string): Promise<Buffer> {
    const sock = net.connect({ host: s.host, port: s.port });
    const chunks: Buffer[] = [];
    let total = 0;
    await new Promise<void>((resolve) => {
      sock.on("error", () => resolve());
      sock.on("close", () => resolve());
      sock.once("connect", () => send && sock.write(send));
      sock.on("data", (d: Buffer) => {
        chunks.push(d);
        total += d.length;
        if (until(total)) {
          sock.destroy();
          resolve();
        }
      });
    });
    sock.destroy();
    return Buffer.concat(chunks);
  }

  it("silent: connection stays open, nothing is said", async () => {
    const s = await startHostile({ kind: "silent" });
    servers.push(s);
    const sock = net.connect({ host: s.host, port: s.port });
    await new Promise((r) => sock.once("connect", r));
    expect(s.bytesSent()).toBe(0);
    sock.destroy();
    await s.idle();
  });

  it("trickle: one byte at a time, stops when the client goes", async () => {
    const s = await startHostile({ kind: "trickle", intervalMs: 5 });
    servers.push(s);
    const got = await collect(s, (n) => n >= 6);
    expect(got.toString("latin1").startsWith("220-mx")).toBe(true);
    await s.idle();
    const after = s.bytesSent();
    await new Promise((r) => setTimeout(r, 30)); // the only sleep: proves nothing more is written
    expect(s.bytesSent()).toBe(after);
  });

  it("endless multi-line reply to EHLO", async () => {
    const s = await startHostile({ kind: "endless-reply" });
    servers.push(s);
    const got = await collect(s, (n) => n > 256 * 1024, "EHLO relaycheck.invalid\r\n");
    const lines = got.toString("latin1").split("\r\n");
    expect(lines[0]).toMatch(/^220 /);
    expect(lines.slice(1, 1000).every((l) => l.startsWith("250-") || l === lines.at(-1))).toBe(true);
    await s.idle();
  });

  it.each([1024 * 1024, 10 * 1024 * 1024])("a %i-byte line without LF", async (bytes) => {
    const s = await startHostile({ kind: "long-line", bytes });
    servers.push(s);
    const got = await collect(s, (n) => n >= bytes);
    expect(got.length).toBe(bytes);
    expect(got.includes(0x0a)).toBe(false);
    await s.idle();
  });

  it("junk: binary and invalid UTF-8", async () => {
    const s = await startHostile({ kind: "junk" });
    servers.push(s);
    const got = await collect(s, (n) => n >= JUNK.length * 3);
    expect(got.equals(Buffer.concat([JUNK, JUNK, JUNK]))).toBe(true);
  });

  it.each(["greeting", "ehlo"] as const)("reset in the middle of the %s", async (during) => {
    const s = await startHostile({ kind: "reset-mid-reply", during });
    servers.push(s);
    const sock = net.connect({ host: s.host, port: s.port });
    let got = "";
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      sock.on("data", (d: Buffer) => {
        got += d.toString("latin1");
        if (got.startsWith("220 ") && got.endsWith("\r\n") && !got.includes("EHLO")) sock.write("EHLO x\r\n");
      });
      sock.on("error", (e) => resolve(e));
      sock.on("close", () => resolve(null));
    });
    expect(err?.code).toBe("ECONNRESET");
    expect(got).toMatch(during === "greeting" ? /220-half a gree$/ : /250-PIPELI$/);
    await s.idle();
  });
});
