/**
 * The real-Postfix fixture itself: both presets start on loopback and answer as configured.
 * Talks SMTP with a raw socket up to RCPT, never DATA.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postfixAvailable, startPostfix, type PostfixInstance } from "./postfix";
import { connectRaw } from "./raw-smtp";
import { requireOrSkip } from "./require";

const available = postfixAvailable();

describe("test Postfix instances", () => {
  let closed: PostfixInstance | undefined;
  let open: PostfixInstance | undefined;

  beforeAll(async () => {
    if (!available.ok) return;
    [closed, open] = await Promise.all([startPostfix({ preset: "closed" }), startPostfix({ preset: "open" })]);
  });

  afterAll(async () => {
    await Promise.all([closed?.close(), open?.close()]);
  });

  async function conversation(instance: PostfixInstance, rcpt: string) {
    const c = await connectRaw(instance.host, instance.port);
    const greeting = await c.read();
    const ehlo = await c.command("EHLO relaycheck.invalid");
    const mail = await c.command("MAIL FROM:<relaycheck@relaycheck.invalid>");
    const rcptReply = await c.command(`RCPT TO:<${rcpt}>`);
    const rset = await c.command("RSET");
    const quit = await c.command("QUIT");
    await c.closed;
    return { greeting, ehlo, mail, rcpt: rcptReply, rset, quit };
  }

  it("listen on distinct loopback addresses, port 25", (ctx) => {
    requireOrSkip(ctx, available);
    expect(closed?.host).toMatch(/^127\.0\.0\.\d+$/);
    expect(open?.host).toMatch(/^127\.0\.0\.\d+$/);
    expect(closed?.host).not.toBe(open?.host);
  });

  it("closed: refuses a third-party recipient with 554 5.7.1 Relay access denied", async (ctx) => {
    requireOrSkip(ctx, available);
    const pf = closed!;
    const r = await conversation(pf, "relaytest@relay-target.invalid");
    expect(r.greeting.code).toBe(220);
    expect(r.greeting.text).toContain("mx.closed.test ESMTP Postfix");
    expect(r.ehlo.code).toBe(250);
    expect(r.ehlo.lines.join("\n")).toContain("PIPELINING");
    expect(r.mail.code).toBe(250);
    expect(r.rcpt.code).toBe(554);
    expect(r.rcpt.text).toMatch(/^5\.7\.1 .*Relay access denied/);
    expect(r.rset.code).toBe(250);
    expect(r.quit.code).toBe(221);
  });

  it("closed: accepts postmaster at its own domain, refuses an unknown local part there", async (ctx) => {
    requireOrSkip(ctx, available);
    const pf = closed!;
    expect((await conversation(pf, "postmaster@closed.test")).rcpt.code).toBe(250);
    const unknown = await conversation(pf, "no-such-user-4711@closed.test");
    expect(unknown.rcpt.code).toBe(550);
    expect(unknown.rcpt.text).toContain("User unknown");
  });

  it("open: relays a third-party recipient (to the discard transport)", async (ctx) => {
    requireOrSkip(ctx, available);
    const pf = open!;
    const r = await conversation(pf, "relaytest@relay-target.invalid");
    expect(r.greeting.text).toContain("mx.open.test");
    expect(r.mail.code).toBe(250);
    expect(r.rcpt.code).toBe(250);
    expect(r.quit.code).toBe(221);
  });

  it("never deliver and never look anything up", async (ctx) => {
    requireOrSkip(ctx, available);
    for (const pf of [closed!, open!]) {
      const log = await pf.maillog();
      expect(log).toContain("daemon started");
      expect(log).not.toMatch(/status=sent|fatal:|panic:/);
    }
  });
});
