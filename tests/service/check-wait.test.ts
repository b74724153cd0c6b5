/**
 * A check between runs (status `waiting`, lib/checks/wait-check.ts), on the real PostgreSQL and
 * Redis: entering a wait stores the report so far and schedules a delayed `resume-check` job; a
 * round is resumed at most once; the follow-up ends with `done`; the reconciler re-schedules a
 * lost follow-up and finishes a check whose follow-up never came with the report it has; a
 * waiting check is reused for the same target.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStoredEvents } from "@/lib/checks/load-stored-events";
import type { Job } from "bullmq";
import { startInProcessServices, type InProcessServices } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { scenario } from "@/lib/advice/test-fixtures";
import { createCheck } from "@/lib/checks/create-check";
import { getCheck } from "@/lib/checks/get-check";
import { recordCheckEvent } from "@/lib/checks/record-check-event";
import { reconcileChecks } from "@/lib/checks/reconcile-checks";
import { enterWait, finishWithStoredReport, resumeJobId, startResume } from "@/lib/checks/wait-check";
import { resumeCheckJob } from "@/lib/queue/jobs";
import { REPORT_SCHEMA_VERSION, type CheckReport, type ServerReport } from "@/lib/probe/types";
import type { CheckWait } from "@/lib/checks/types";
import { createResumeCheckHandler } from "@/worker/resume-check";

let ctx: InProcessServices;
let dns: LocalDnsServer;
let clients = 0;

beforeAll(async () => {
  dns = await startDnsServer({});
  ctx = await startInProcessServices({ RECONCILE_GRACE_MS: "0", RELAYCHECK_DNS_SERVERS: dns.address });
});

afterAll(async () => {
  await ctx?.close();
  await dns?.close();
});

async function runningCheck(ip: string): Promise<{ id: string; server: ServerReport; report: CheckReport }> {
  const { check } = await createCheck({ target: ip }, { clientIp: `198.51.100.${++clients}` }, ctx.services);
  await ctx.services.queue.remove(check.id); // no worker here: the test plays it
  await recordCheckEvent(ctx.services, check.id, { type: "status", t: 0, status: "running" });
  const server: ServerReport = { ...scenario("postfix", { tempfail: { ids: ["plain-third-party"], reply: { code: 450, enhanced: "4.2.0", text: "Greylisted" } } }), host: ip, ip, port: 25 };
  const report: CheckReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    target: { input: ip, kind: "ipv4", name: ip },
    options: { ports: [25], ehloName: "relaycheck.invalid", senderDomain: "relaycheck.invalid", recipientDomain: "relay-target.invalid" },
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: 12,
    verdict: "inconclusive",
    reason: "greylisting",
    resolution: { mx: [], implicitMx: false, nullMx: false, hosts: [], refused: [], errors: [], durationMs: 0 },
    servers: [server],
  };
  return { id: check.id, server, report };
}

function waitOf(ip: string, inMs: number, round = 1): CheckWait {
  return { reason: "recheck", until: new Date(Date.now() + inMs).toISOString(), round, servers: [`${ip}:25`], message: "Re-checking soon (greylisting)." };
}

const row = (id: string) => ctx.services.db.check.findUniqueOrThrow({ where: { id } });
const eventTypes = async (id: string) => (await loadStoredEvents(ctx.services.db, id, 0)).map((e) => e.event.type);

describe("a waiting check", () => {
  it("stores its report so far, shows the wait, and schedules its follow-up", async () => {
    const { id, report } = await runningCheck("127.0.0.201");
    const wait = waitOf("127.0.0.201", 60_000);
    expect(await enterWait(ctx.services, id, wait, report, 5)).toBe(true);
    const check = await row(id);
    expect(check.status).toBe("waiting");
    expect(check.verdict).toBe("inconclusive");
    expect(check.deadlineAt!.getTime()).toBeGreaterThan(Date.parse(wait.until));
    const view = (await getCheck(id, ctx.services))!;
    expect(view.status).toBe("waiting");
    expect(view.waiting).toEqual(wait);
    expect(view.servers.map((s) => s.ip)).toEqual(["127.0.0.201"]);
    const job = await ctx.services.queue.getJob(resumeJobId(id, "recheck", 1));
    expect(job?.name).toBe(resumeCheckJob.name);
    expect(await job?.getState()).toBe("delayed");
    expect(job?.opts.delay).toBeGreaterThan(50_000);
    // A new check of the same target meanwhile is this one.
    const again = await createCheck({ target: "127.0.0.201" }, { clientIp: `198.51.100.${++clients}` }, ctx.services);
    expect(again.check.id).toBe(id);
  });

  it("is resumed once per round, and finished with its report", async () => {
    const { id, report } = await runningCheck("127.0.0.202");
    await enterWait(ctx.services, id, waitOf("127.0.0.202", 60_000), report, 5);
    expect((await startResume(ctx.services, id, { reason: "recheck", round: 2 }, { runMs: 1000 })).started).toBe(false);
    const first = await startResume(ctx.services, id, { reason: "recheck", round: 1 }, { runMs: 1000 });
    expect(first.started).toBe(true);
    expect((await row(id)).status).toBe("running");
    expect((await row(id)).waiting).toBeNull();
    expect((await startResume(ctx.services, id, { reason: "recheck", round: 1 }, { runMs: 1000 })).started).toBe(false);
    expect(await finishWithStoredReport(ctx.services, id)).toBe(true);
    const check = await row(id);
    expect(check.status).toBe("done");
    expect(check.verdict).toBe("inconclusive");
    expect(await eventTypes(id)).toEqual(["status", "status", "waiting", "resumed", "done"]);
    const view = (await getCheck(id, ctx.services))!;
    expect(view.waiting).toBeNull();
    expect(view.servers[0]!.cases.find((c) => c.id === "plain-third-party")?.outcome).toBe("tempfail");
  });

  it("the resume-check job hands the round to its reason's handler, which may wait again", async () => {
    const { id, report } = await runningCheck("127.0.0.203");
    await enterWait(ctx.services, id, waitOf("127.0.0.203", 60_000), report, 5);
    const seen: number[] = [];
    const handle = createResumeCheckHandler({
      services: ctx.services,
      runMs: 5_000,
      shutdownSignal: new AbortController().signal,
      handlers: {
        recheck: async ({ wait, checkId }) => {
          seen.push(wait.round);
          if (wait.round === 1) await enterWait(ctx.services, checkId, waitOf("127.0.0.203", 60_000, 2), { ...report, reason: "still greylisted" }, 9);
          else await recordCheckEvent(ctx.services, checkId, { type: "done", t: 20, report: { ...report, verdict: "open-relay", reason: "relays after the re-check" } });
        },
      },
    });
    const job = (round: number) => ({ id: resumeJobId(id, "recheck", round), data: { checkId: id, reason: "recheck", round } }) as unknown as Job;
    await handle(job(1));
    expect((await row(id)).status).toBe("waiting");
    await handle(job(1)); // repeated: nothing to do
    await handle(job(2));
    expect(seen).toEqual([1, 2]);
    const check = await row(id);
    expect(check.status).toBe("done");
    expect(check.verdict).toBe("open-relay");
  });

  it("a handler that fails, or a reason with no handler, still ends the check with its report", async () => {
    for (const [ip, handlers] of [["127.0.0.204", { recheck: async () => Promise.reject(new Error("boom")) }], ["127.0.0.205", {}]] as const) {
      const { id, report } = await runningCheck(ip);
      await enterWait(ctx.services, id, waitOf(ip, 60_000), report, 5);
      const handle = createResumeCheckHandler({ services: ctx.services, runMs: 5_000, shutdownSignal: new AbortController().signal, handlers });
      await handle({ id: "x", data: { checkId: id, reason: "recheck", round: 1 } } as unknown as Job);
      const check = await row(id);
      expect(check.status).toBe("done");
      expect(check.verdict).toBe("inconclusive");
    }
  });
});

describe("the reconciler and waiting checks", () => {
  it("re-schedules a follow-up whose job vanished", async () => {
    const { id, report } = await runningCheck("127.0.0.206");
    await enterWait(ctx.services, id, waitOf("127.0.0.206", 60_000), report, 5);
    await ctx.services.queue.remove(resumeJobId(id, "recheck", 1));
    const result = await reconcileChecks(ctx.services);
    expect(result.waitsRescheduled).toBeGreaterThanOrEqual(1);
    expect(await (await ctx.services.queue.getJob(resumeJobId(id, "recheck", 1)))?.getState()).toBe("delayed");
    expect((await row(id)).status).toBe("waiting");
  });

  it("finishes a waiting check past its deadline with the report it has, exactly once", async () => {
    const { id, report } = await runningCheck("127.0.0.207");
    await enterWait(ctx.services, id, waitOf("127.0.0.207", 60_000), report, 5);
    await ctx.services.db.check.update({ where: { id }, data: { deadlineAt: new Date(Date.now() - 1000) } });
    const result = await reconcileChecks(ctx.services);
    expect(result.waitsFinished).toBeGreaterThanOrEqual(1);
    await reconcileChecks(ctx.services);
    const check = await row(id);
    expect(check.status).toBe("done");
    expect(check.verdict).toBe("inconclusive");
    expect((await eventTypes(id)).filter((t) => t === "done")).toHaveLength(1);
  });
});
