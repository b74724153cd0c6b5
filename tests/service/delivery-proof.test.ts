/**
 * Proof by delivery (issue 12), end to end with real Postfix: the web API, the worker, the sink
 * process (`sink/main.ts`) and Postfix instances whose transport_maps route the sink domain to
 * the sink on loopback, so the proof message really passes Postfix's queue.
 *
 * - an open relay: the check waits for delivery, the sink's `delivery` event and the `done`
 *   follow, the report ends open-relay "proven", with Received lines;
 * - a Postfix that relays only recipients with a percent sign, at a catch-all domain (RCPT alone
 *   is inconclusive): the proof uses the percent hack, the report ends open-relay "proven";
 * - a closed Postfix: nothing accepted at RCPT, no proof session, no token, no DATA;
 * - a relay whose route to the sink is dead: the wait ends, the RCPT evidence stands, with the
 *   wait stated;
 * - the sink refuses wrong, reused and expired tokens with 550 and stores nothing;
 * - without an API key the request is refused (RELAYCHECK_DELIVERY_PROOF=api-key).
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "@/lib/api-keys";
import { createDb, type Db } from "@/lib/db/create-db";
import { makeDeliveryToken } from "@/lib/sink/delivery-tokens";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { postfixAvailable, startPostfix, type PostfixInstance } from "@/tests/support/postfix";
import { connectRaw } from "@/tests/support/raw-smtp";
import { requireOrSkip } from "@/tests/support/require";
import { freePort, startService, type RunningService } from "@/tests/support/service";
import { readEvents, type ReceivedEvent } from "./read-events";

const available = postfixAvailable();
const SINK_DOMAIN = "sink.test";
const SINK_HOST = "127.0.0.80";
const DEAD_HOST = "127.0.0.81";
const WAIT_MS = 8_000;
const ROOT = path.resolve(__dirname, "..", "..");

let svc: RunningService | undefined;
let dns: LocalDnsServer | undefined;
let sink: ChildProcess | undefined;
let sinkPort = 0;
let sinkOutput = "";
let db: Db | undefined;
let apiKey = "";
const postfixes: PostfixInstance[] = [];
let open: PostfixInstance;
let tricky: PostfixInstance;
let closed: PostfixInstance;
let dead: PostfixInstance;

beforeAll(async () => {
  if (!available.ok) return;
  sinkPort = await freePort();
  const deadPort = await freePort();
  const toSink = { [SINK_DOMAIN]: `smtp:[${SINK_HOST}]:${sinkPort}` };
  [open, tricky, closed, dead] = await Promise.all([
    startPostfix({ preset: "open", myhostname: "mx.open.test", domain: "open.test", transports: toSink }),
    // Takes any local part at its own names (a catch-all), and an alias rule does the percent hack
    // (user%domain@itself → user@domain) after the message is taken: the relay check sees a local
    // recipient, so RCPT alone cannot tell relaying from delivery; only the percent form relays.
    startPostfix({
      preset: "closed",
      myhostname: "mx.tricky.test",
      domain: "tricky.test",
      transports: toSink,
      files: { virtual: "/^([^%@]+)%([^%@]+)@mx\\.tricky\\.test$/ ${1}@${2}\n" },
      main: { local_recipient_maps: "", allow_percent_hack: "no", allow_untrusted_routing: "yes", virtual_alias_maps: "regexp:$config_directory/virtual" },
    }),
    startPostfix({ preset: "closed", myhostname: "mx.closed.test", domain: "closed.test", transports: toSink }),
    startPostfix({ preset: "open", myhostname: "mx.dead.test", domain: "dead.test", transports: { [SINK_DOMAIN]: `smtp:[${DEAD_HOST}]:${deadPort}` } }),
  ]);
  postfixes.push(open, tricky, closed, dead);
  dns = await startDnsServer({
    a: { "mx.open.test": [open.host], "mx.tricky.test": [tricky.host], "mx.closed.test": [closed.host], "mx.dead.test": [dead.host] },
    mx: { "tricky.test": [{ exchange: "mx.tricky.test", priority: 10 }] },
    ptr: { [open.host]: ["mx.open.test"], [tricky.host]: ["mx.tricky.test"], [closed.host]: ["mx.closed.test"], [dead.host]: ["mx.dead.test"] },
  });
  svc = await startService({
    dnsServers: [dns.address],
    env: {
      RELAYCHECK_SINK_DOMAIN: SINK_DOMAIN,
      RELAYCHECK_DELIVERY_PROOF: "api-key",
      RELAYCHECK_DELIVERY_WAIT_MS: String(WAIT_MS),
      RELAYCHECK_ALLOW_RESERVED_NAMES: "true",
      RELAYCHECK_DNSBLS: "off",
      PROBE_COMMAND_TIMEOUT_MS: "5000",
    },
  });
  db = createDb({ url: svc.env.DATABASE_URL! });
  apiKey = (await createApiKey(db, "delivery proof tests")).key;
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "sink", "main.ts")], {
    cwd: ROOT,
    env: { NODE_ENV: "test", PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...svc.env, RELAYCHECK_SINK_HOST: SINK_HOST, RELAYCHECK_SINK_PORT: String(sinkPort) },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  sink = child;
  child.stdout?.on("data", (d: Buffer) => (sinkOutput += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (sinkOutput += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code) => reject(new Error(`sink exited (${code}): ${sinkOutput}`)));
  });
}, 120_000);

afterAll(async () => {
  if (sink && sink.exitCode === null) {
    sink.kill("SIGTERM");
    await new Promise((r) => sink!.once("exit", r));
  }
  await db?.$disconnect();
  await svc?.stop();
  await Promise.all(postfixes.map((p) => p.close()));
  await dns?.close();
});

async function post(body: Record<string, unknown>, key: string | null = apiKey): Promise<Response> {
  return fetch(`${svc!.baseUrl}/api/v1/checks`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
}

interface ViewLike {
  id: string;
  status: string;
  verdict: string;
  reason: string;
  servers: { verdict: string; reason: string; proof?: { status: string; caseId: string; rcptTo: string; detail: string; delayMs: number | null; arrival: { received: string[]; remoteAddress: string; rcptTo: string } | null; transcript: { line: string }[] } }[];
}

/** POSTs a check with proof, follows its live events to the end, returns both. */
async function proveCheck(target: string): Promise<{ events: ReceivedEvent[]; view: ViewLike }> {
  const res = await post({ target, proveDelivery: true });
  expect(res.status, await res.clone().text()).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const { events } = await readEvents(`${svc!.baseUrl}/api/v1/checks/${id}/events`);
  const view = (await (await fetch(`${svc!.baseUrl}/api/v1/checks/${id}`)).json()) as ViewLike;
  return { events, view };
}

const types = (events: ReceivedEvent[]) => events.map((e) => e.type);

describe("proof by delivery through real Postfix", () => {
  it("open relay: waits for delivery, the sink's delivery event, then open-relay proven with Received lines", async (ctx) => {
    requireOrSkip(ctx, available);
    const { events, view } = await proveCheck("mx.open.test");
    const t = types(events);
    expect(t).toContain("waiting");
    const waiting = events.find((e) => e.type === "waiting")!.data as unknown as { wait: { reason: string; until: string } };
    expect(waiting.wait.reason).toBe("delivery");
    const delivered = events.filter((e) => e.type === "delivery").map((e) => (e.data as unknown as { report: ViewLike["servers"][number] }).report.proof!.status);
    expect(delivered).toEqual(["sent", "delivered"]);
    expect(t.indexOf("waiting")).toBeLessThan(t.lastIndexOf("delivery"));
    expect(t.at(-1)).toBe("done");
    expect(view.status).toBe("done");
    expect(view.verdict).toBe("open-relay");
    expect(view.reason).toMatch(/proven: delivered in \d+\.\d s via 127\.0\.0\.\d+/);
    const proof = view.servers[0]!.proof!;
    expect(proof.status).toBe("delivered");
    expect(proof.caseId).toBe("third-party");
    expect(proof.rcptTo).toBe(`<token>@${SINK_DOMAIN}`);
    expect(proof.arrival!.received.some((r) => /by mx\.open\.test/.test(r))).toBe(true);
    expect(proof.arrival!.remoteAddress).toMatch(/^127\./);
    // The token never shows: not in the transcript of the proof session either.
    expect(proof.transcript.map((l) => l.line).join("\n")).not.toMatch(/[0-9a-f]{32}/);
    expect(proof.transcript.some((l) => l.line === "DATA")).toBe(true);
    console.log(`open relay: proof session to delivery on loopback: ${proof.delayMs} ms`);
  }, 60_000);

  it("percent hack at a catch-all domain: inconclusive at RCPT, proven by delivery", async (ctx) => {
    requireOrSkip(ctx, available);
    const { events, view } = await proveCheck("tricky.test");
    const serverDone = events.find((e) => e.type === "server-done")!.data as unknown as { report: { verdict: string; cases: { id: string; outcome: string }[] } };
    expect(serverDone.report.verdict).toBe("inconclusive");
    expect(serverDone.report.cases.find((c) => c.id === "third-party")!.outcome).toBe("rejected");
    expect(view.verdict).toBe("open-relay");
    const proof = view.servers[0]!.proof!;
    expect(proof.status).toBe("delivered");
    expect(proof.caseId).toMatch(/percent/);
    expect(proof.rcptTo).toContain(`<token>%${SINK_DOMAIN}`);
    expect(proof.arrival!.received.some((r) => /by mx\.tricky\.test/.test(r))).toBe(true);
    expect(view.servers[0]!.reason).toMatch(/proven: delivered/);
    console.log(`percent hack: proof session to delivery on loopback: ${proof.delayMs} ms`);
  }, 60_000);

  it("closed Postfix: nothing accepted at RCPT, so no proof session, no token, no DATA", async (ctx) => {
    requireOrSkip(ctx, available);
    const { events, view } = await proveCheck("mx.closed.test");
    expect(types(events)).not.toContain("waiting");
    expect(types(events)).not.toContain("delivery");
    expect(view.verdict).toBe("not-open-relay");
    expect(view.servers[0]!.proof).toBeUndefined();
    expect(await db!.deliveryToken.count({ where: { checkId: view.id } })).toBe(0);
    const replies = events.filter((e) => e.type === "reply").map((e) => String((e.data as { command?: string | null }).command ?? ""));
    expect(replies.filter((c) => c === "DATA")).toEqual([]);
    expect(await closed.maillog()).not.toMatch(/queued as|status=sent/);
  }, 60_000);

  it("a relay whose route to the sink is dead: the wait ends, the RCPT evidence stands, the wait stated", async (ctx) => {
    requireOrSkip(ctx, available);
    const { events, view } = await proveCheck("mx.dead.test");
    expect(types(events)).toEqual(expect.arrayContaining(["waiting", "resumed", "delivery", "done"]));
    expect(view.verdict).toBe("open-relay");
    const proof = view.servers[0]!.proof!;
    expect(proof.status).toBe("not-delivered");
    expect(proof.detail).toMatch(/not delivered within 8\.0 s; not arriving proves nothing on its own/);
    expect(view.reason).toMatch(/No proof message arrived within 8\.0 s/);
  }, 60_000);

  it("DATA went out only in proof sessions, once per server, only to the sink domain", async (ctx) => {
    requireOrSkip(ctx, available);
    const tokens = await db!.deliveryToken.findMany({ include: { check: { select: { target: true } } } });
    const perServer = new Map<string, number>();
    for (const t of tokens) perServer.set(`${t.checkId} ${t.serverKey}`, (perServer.get(`${t.checkId} ${t.serverKey}`) ?? 0) + 1);
    expect([...perServer.values()].every((n) => n === 1)).toBe(true);
    const servers = await db!.checkServer.findMany();
    for (const s of servers) {
      const transcript = s.transcript as { line: string }[];
      // The probe's own sessions never send DATA.
      expect(transcript.filter((l) => l.line === "DATA"), s.key).toEqual([]);
      const proof = (s.report as { proof?: { transcript: { dir: string; line: string }[] } }).proof;
      if (!proof) continue;
      const lines = proof.transcript.filter((l) => l.dir === "client").map((l) => l.line);
      expect(lines.filter((l) => l === "DATA").length).toBeLessThanOrEqual(1);
      for (const rcpt of lines.filter((l) => l.startsWith("RCPT TO:"))) expect(rcpt).toContain(SINK_DOMAIN);
    }
    // Postfix handed nothing but the proof messages to any transport but discard.
    for (const pf of [open, tricky]) {
      const log = await pf.maillog();
      const sent = log.split("\n").filter((l) => /relay=127\.0\.0\.80\[127\.0\.0\.80\]:\d+.*status=sent/.test(l));
      expect(sent, log).toHaveLength(1);
      console.log(`Postfix ${pf.myhostname}: ${sent[0]}`);
    }
  });

  it("the sink refuses wrong, reused and expired tokens with 550 and stores nothing", async (ctx) => {
    requireOrSkip(ctx, available);
    const check = await db!.check.findFirstOrThrow({ where: { target: "mx.closed.test" } });
    const live = await makeDeliveryToken(db!, { checkId: check.id, serverKey: "127.0.0.1:25", target: "sink-test", ttlMs: 60_000, perTargetPerDay: 5 });
    const expired = await makeDeliveryToken(db!, { checkId: check.id, serverKey: "127.0.0.2:25", target: "sink-test", ttlMs: -1, perTargetPerDay: 5 });
    if (!live.made || !expired.made) throw new Error("tokens not made");
    const usedBefore = await db!.deliveryToken.count({ where: { usedAt: { not: null } } });
    const rcpt = async (to: string) => {
      const c = await connectRaw(SINK_HOST, sinkPort);
      await c.read();
      await c.command("EHLO test.invalid");
      await c.command("MAIL FROM:<x@test.invalid>");
      const r = await c.command(`RCPT TO:<${to}>`);
      c.close();
      return r.code;
    };
    expect(await rcpt(`${"0".repeat(32)}@${SINK_DOMAIN}`)).toBe(550); // wrong
    expect(await rcpt(`${expired.token}@${SINK_DOMAIN}`)).toBe(550); // expired
    expect(await rcpt(`${live.token}@other.test`)).toBe(550); // another domain
    // The live one is used up by its message; a second message with it is refused.
    const c = await connectRaw(SINK_HOST, sinkPort);
    await c.read();
    await c.command("EHLO test.invalid");
    await c.command("MAIL FROM:<x@test.invalid>");
    expect((await c.command(`RCPT TO:<${live.token}@${SINK_DOMAIN}>`)).code).toBe(250);
    expect((await c.command(`RCPT TO:<${live.token}@${SINK_DOMAIN}>`)).code).toBe(452); // one recipient
    expect((await c.command("DATA")).code).toBe(354);
    expect((await c.command("Received: from a by b; now\r\nSubject: x\r\n\r\nbody\r\n.")).code).toBe(250);
    c.close();
    expect(await rcpt(`${live.token}@${SINK_DOMAIN}`)).toBe(550); // reused
    expect(await db!.deliveryToken.count({ where: { usedAt: { not: null } } })).toBe(usedBefore + 1);
    const row = await db!.deliveryToken.findFirstOrThrow({ where: { serverKey: "127.0.0.2:25", checkId: check.id } });
    expect(row.usedAt).toBeNull();
    expect(row.arrival).toBeNull();
  });

  it("without an API key a proof is refused (RELAYCHECK_DELIVERY_PROOF=api-key)", async (ctx) => {
    requireOrSkip(ctx, available);
    const res = await post({ target: "mx.open.test", proveDelivery: true }, null);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/API key/);
  });
});
