/**
 * The check lifecycle with PostgreSQL as its truth (issue 8), on the real PostgreSQL and Redis,
 * driving lib/checks and the worker's job handler in this process:
 * - the reconciler ends checks past their deadline, re-enqueues those whose job vanished, leaves
 *   alone those a live worker is on, and gives up after MAX_ATTEMPTS runs;
 * - a finished check is final: later events are dropped;
 * - a queued/running check is reused only while it is alive;
 * - a job handler that stops early (its writes fail for good) stops its probe too;
 * - the job schedulers come back after Redis lost them.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadStoredEvents } from "@/lib/checks/load-stored-events";
import type { Job } from "bullmq";
import { startInProcessServices, type InProcessServices } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { startTarpit } from "@/tests/fakes/presets";
import { createCheck } from "@/lib/checks/create-check";
import { recordCheckEvent } from "@/lib/checks/record-check-event";
import { MAX_ATTEMPTS, reconcileChecks, TIMEOUT_MESSAGE } from "@/lib/checks/reconcile-checks";
import { keepSchedulers } from "@/lib/queue/keep-schedulers";
import { purgeExpiredJob, reconcileChecksJob } from "@/lib/queue/jobs";
import { createRunCheckHandler } from "@/worker/run-check";

let ctx: InProcessServices;
let dns: LocalDnsServer;
let clients = 0;

beforeAll(async () => {
  dns = await startDnsServer({});
  ctx = await startInProcessServices({ RECONCILE_GRACE_MS: "0", RELAYCHECK_DNS_SERVERS: dns.address, CHECK_REUSE_WINDOW_SECONDS: "0" });
});

afterAll(async () => {
  await ctx?.close();
  await dns?.close();
});

/** A new check of `target` through the service's own createCheck (its job waits: no worker runs here). */
async function newCheck(target: string): Promise<string> {
  const { check } = await createCheck({ target }, { clientIp: `198.51.100.${++clients}` }, ctx.services);
  return check.id;
}

const row = (id: string) => ctx.services.db.check.findUniqueOrThrow({ where: { id } });
const eventTypes = async (id: string) => (await loadStoredEvents(ctx.services.db, id, 0)).map((e) => e.event.type);

describe("the reconciler", () => {
  it("ends a check whose deadline passed, once, with a timeout", async () => {
    const id = await newCheck("127.0.0.231");
    await ctx.services.db.check.update({ where: { id }, data: { deadlineAt: new Date(Date.now() - 1000) } });
    const first = await reconcileChecks(ctx.services);
    expect(first.timedOut).toBeGreaterThanOrEqual(1);
    const check = await row(id);
    expect(check.status).toBe("failed");
    expect(check.errorCode).toBe("timeout");
    expect(check.errorMessage).toBe(TIMEOUT_MESSAGE);
    expect(await ctx.services.queue.getJob(id)).toBeUndefined();
    await reconcileChecks(ctx.services);
    expect((await eventTypes(id)).filter((t) => t === "failed")).toHaveLength(1);
  });

  it("re-enqueues a queued check whose job vanished, and leaves one whose job waits", async () => {
    const lost = await newCheck("127.0.0.232");
    const waiting = await newCheck("127.0.0.233");
    await ctx.services.queue.remove(lost);
    const result = await reconcileChecks(ctx.services);
    expect(result.requeued).toBeGreaterThanOrEqual(1);
    expect(await (await ctx.services.queue.getJob(lost))?.getState()).toBe("waiting");
    expect(await (await ctx.services.queue.getJob(waiting))?.getState()).toBe("waiting");
    expect((await row(lost)).status).toBe("queued");
  });

  it("leaves a running check with a fresh heartbeat alone; takes over one whose heartbeat is stale", async () => {
    const id = await newCheck("127.0.0.234");
    await ctx.services.queue.remove(id);
    await ctx.services.db.check.update({ where: { id }, data: { status: "running", attempt: 1, heartbeatAt: new Date() } });
    await reconcileChecks(ctx.services);
    expect(await ctx.services.queue.getJob(id)).toBeUndefined();
    await ctx.services.db.check.update({ where: { id }, data: { heartbeatAt: new Date(Date.now() - 60_000) } });
    await reconcileChecks(ctx.services);
    expect(await (await ctx.services.queue.getJob(id))?.getState()).toBe("waiting");
  });

  it(`gives up on a check that has started ${MAX_ATTEMPTS} runs`, async () => {
    const id = await newCheck("127.0.0.235");
    await ctx.services.queue.remove(id);
    await ctx.services.db.check.update({ where: { id }, data: { status: "running", attempt: MAX_ATTEMPTS, heartbeatAt: new Date(Date.now() - 60_000) } });
    await reconcileChecks(ctx.services);
    const check = await row(id);
    expect(check.status).toBe("failed");
    expect(check.errorCode).toBe("internal");
  });
});

describe("a finished check", () => {
  it("is final: events after its terminal one are dropped", async () => {
    const id = await newCheck("127.0.0.236");
    expect(await recordCheckEvent(ctx.services, id, { type: "failed", t: 1, error: { code: "internal", message: "x" } })).not.toBeNull();
    expect(await recordCheckEvent(ctx.services, id, { type: "status", t: 2, status: "running" })).toBeNull();
    expect(await recordCheckEvent(ctx.services, id, { type: "failed", t: 3, error: { code: "timeout", message: "y" } })).toBeNull();
    const check = await row(id);
    expect(check.status).toBe("failed");
    expect(check.errorCode).toBe("internal");
    expect(await eventTypes(id)).toEqual(["status", "failed"]);
  });
});

describe("reusing an open check", () => {
  it("reuses a live one, and replaces one that is stuck (its job gone, no heartbeat) after ending it", async () => {
    const first = await newCheck("127.0.0.237");
    expect(await newCheck("127.0.0.237")).toBe(first);
    await ctx.services.queue.remove(first);
    const second = await newCheck("127.0.0.237");
    expect(second).not.toBe(first);
    const stuck = await row(first);
    expect(stuck.status).toBe("failed");
    expect(stuck.errorMessage).toMatch(/replaced/);
  });
});

describe("a job handler that stops early", () => {
  it("stops its probe: no new session and no new batch after the handler ended", async () => {
    const fake = await startTarpit({ host: "127.0.0.238", port: 25, softLimit: 0, hardLimit: 100_000, sleepMs: 100 });
    try {
      const id = await newCheck("127.0.0.238");
      const handler = createRunCheckHandler({
        services: ctx.services,
        probe: { base: { dnsServers: [dns.address] }, checkTimeoutMs: 60_000 },
        shutdownSignal: new AbortController().signal,
      });
      const job = { id, name: "run-check", data: { checkId: id }, attemptsMade: 0 } as unknown as Job;
      const running = handler(job);
      const outcome = running.then(
        () => "resolved",
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      // Mid-probe, the check disappears: every later write fails for good (no retry can fix it).
      await vi.waitFor(async () => expect((await eventTypes(id)).filter((t) => t === "case-result").length).toBeGreaterThan(0), { timeout: 30_000, interval: 50 });
      await ctx.services.db.check.delete({ where: { id } });
      expect(await outcome).toMatch(/no check/);
      const commandsAtEnd = fake.log.commands.length;
      const connectionsAtEnd = fake.log.connections;
      await fake.idle();
      // Lines already on the wire when the probe was stopped may still arrive (an RSET, the last
      // pipelined RCPT); an orphan probe would go on with new batches and sessions (28 more
      // commands when this test was written against the unfixed handler).
      const after = fake.log.commands.slice(commandsAtEnd).map((c) => c.line);
      expect(fake.log.connections).toBe(connectionsAtEnd);
      expect(after.filter((line) => line !== "QUIT" && line !== "RSET").length).toBeLessThanOrEqual(2);
    } finally {
      await fake.close();
    }
  });
});

describe("job schedulers", () => {
  it("are created again after Redis lost them", async () => {
    const stop = keepSchedulers(ctx.services.queue, { reconcileEveryMs: 60_000, checkEveryMs: 100 }, ctx.services.log);
    try {
      const names = async () => (await ctx.services.queue.getJobSchedulers()).map((s) => s.key).sort();
      await vi.waitFor(async () => expect(await names()).toEqual([purgeExpiredJob.name, reconcileChecksJob.name].sort()));
      await ctx.services.queue.removeJobScheduler(purgeExpiredJob.name);
      await ctx.services.queue.removeJobScheduler(reconcileChecksJob.name);
      await vi.waitFor(async () => expect(await names()).toEqual([purgeExpiredJob.name, reconcileChecksJob.name].sort()));
    } finally {
      stop();
    }
  });
});
