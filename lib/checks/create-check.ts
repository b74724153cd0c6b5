/**
 * Creating a check: validate the target, reuse a recent report of the same target when there is
 * one, else take a point of the client's limit (through the caller) and of the per-target limit,
 * store the check, queue it.
 *
 * Reuse rules (issue 4's per-target cool-down):
 * - a queued or running check of the same target and ports is reused (no second probe) while it
 *   is alive: before its deadline, with its job in the queue or a worker's heartbeat fresh; one
 *   that is not is ended (`failed`, superseded) and a new check takes its place;
 * - a finished one younger than the reuse window is reused, unless `fresh` is asked and the
 *   latest check is older than the cool-down;
 * - failed checks are never reused.
 * Two requests for the same target and ports at once get the same check (see reuseOrInsert).
 */
import { z } from "zod";
import { REPORT_SCHEMA_VERSION } from "@/lib/probe";
import { AppError } from "@/lib/errors";
import { enqueueCheck } from "@/lib/queue/create-check-queue";
import { hashClientIp } from "@/lib/security/client-ip";
import { newCheckId } from "./check-id";
import type { NormalizedTarget } from "@/lib/probe";
import type { Prisma } from "@/lib/db/create-db";
import { getCheckServices, type CheckServices, type CheckSettings } from "./services";
import { validateTarget } from "./validate-target";
import { getCheck } from "./get-check";
import { recordCheckEvent } from "./record-check-event";
import { HEARTBEAT_STALE_MS } from "./reconcile-checks";
import type { CheckView } from "./types";

export const createCheckInput = z
  .object({
    target: z.string().min(1, "target is required").max(1024, "target is too long"),
    ports: z.array(z.number().int().min(1).max(65535)).min(1).max(3).optional(),
    fresh: z.boolean().optional(),
    /** Send one real message through each server that accepted at RCPT, to relaycheck's sink (issue 12). */
    proveDelivery: z.boolean().optional(),
  })
  .strict();

const SUPERSEDED_MESSAGE = "This check stopped making progress; a new check of the same target replaced it.";

/** How long a request waits for a database connection, and at most holds the per-target lock. */
const LOCK_WAIT_MS = 5_000;
const LOCK_HOLD_MS = 10_000;

export type CreateCheckInput = z.infer<typeof createCheckInput>;

export interface CreateCheckContext {
  /** The client's IP address (hashed before it is stored anywhere). */
  clientIp: string;
  /**
   * Takes a point of the client's own check limit (throws AppError "rate_limited" when spent).
   * Called only when a new check is about to be created, next to the per-target limit: invalid
   * input and reused reports cost the client nothing.
   */
  consumeClientPoint?: () => Promise<void>;
  /** Whether the request carries a valid API key (proof by delivery may need one). */
  withApiKey?: boolean;
}

export interface CreateCheckResult {
  check: CheckView;
  /** False when a recent check of the same target was returned instead of a new one. */
  created: boolean;
  /** RateLimit-* headers of the per-target limit, when a point was taken. */
  rateLimitHeaders: Record<string, string>;
}

export async function createCheck(
  input: CreateCheckInput,
  ctx: CreateCheckContext,
  services: CheckServices = getCheckServices(),
): Promise<CreateCheckResult> {
  const { db, settings } = services;
  const { target, ports } = validateTarget(input.target, input.ports, settings);
  const proof = input.proveDelivery === true;
  if (proof) guardDeliveryProof(settings, ctx.withApiKey === true);

  const decided = await reuseOrInsert(services, target, ports, input.fresh === true, ctx, proof);
  if ("reuse" in decided) {
    const view = await getCheck(decided.reuse, services);
    if (view) return { check: { ...view, reused: true }, created: false, rateLimitHeaders: {} };
    throw new Error(`check ${decided.reuse} vanished while being reused`);
  }
  const { id, rateLimitHeaders, superseded } = decided;
  const log = services.log.child({ checkId: id });
  if (superseded) {
    await recordCheckEvent(services, superseded, { type: "failed", t: 0, error: { code: "internal", message: SUPERSEDED_MESSAGE } }).catch((err: unknown) =>
      log.warn({ err, superseded }, "could not end the stuck check; the reconciler will"),
    );
  }
  try {
    await recordCheckEvent(services, id, { type: "status", t: 0, status: "queued" });
    await enqueueCheck(services.queue, { checkId: id });
  } catch (e) {
    log.error({ err: e }, "could not queue the check");
    await db.check
      .update({ where: { id }, data: { status: "failed", errorCode: "unavailable", errorMessage: "The check could not be queued.", finishedAt: new Date() } })
      .catch(() => {});
    throw new AppError("unavailable", "The check could not be queued. Please try again shortly.");
  }
  log.info({ target: target.name, ports }, "check queued");
  const view = await getCheck(id, services);
  if (!view) throw new Error(`check ${id} vanished after creation`);
  return { check: view, created: true, rateLimitHeaders };
}

/**
 * The reuse-or-create step, one at a time per target and ports: a transaction holding a
 * PostgreSQL advisory lock on them, so two simultaneous requests cannot both find nothing to reuse
 * and both create a check; the second waits for the first to commit, then reuses its check.
 */
async function reuseOrInsert(
  services: CheckServices,
  target: NormalizedTarget,
  ports: number[],
  fresh: boolean,
  ctx: CreateCheckContext,
  proof: boolean,
): Promise<{ reuse: string } | { id: string; rateLimitHeaders: Record<string, string>; superseded: string | null }> {
  const { db, settings } = services;
  const now = Date.now();
  const lockKey = `check:${target.name}:${ports.join(",")}`;
  return db.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`;
      const recent = await findReusable(tx, settings, target.name, ports, fresh, proof);
      let superseded: string | null = null;
      if (recent && "open" in recent) {
        if (await isAlive(services, recent.open, now)) return { reuse: recent.open.id };
        superseded = recent.open.id;
      } else if (recent) {
        return { reuse: recent.done };
      }
      // A new probe: now, and only now, it costs the client a point, then the target one.
      await ctx.consumeClientPoint?.();
      const rateLimitHeaders = await services.limiters.targetChecks.consume(target.name);
      const id = newCheckId();
      await tx.check.create({
        data: {
          id,
          target: target.name,
          targetKind: target.kind,
          input: target.input,
          targetUnicode: target.unicode ?? null,
          targetStripped: target.stripped ?? null,
          ports,
          proveDelivery: proof,
          schemaVersion: REPORT_SCHEMA_VERSION,
          clientIpHash: hashClientIp(ctx.clientIp, settings.ipHashSecret),
          deadlineAt: new Date(now + settings.queueTimeoutMs + settings.checkTimeoutMs),
        },
      });
      return { id, rateLimitHeaders, superseded };
    },
    { maxWait: LOCK_WAIT_MS, timeout: LOCK_HOLD_MS },
  );
}

type OpenCheck = { id: string; status: string; deadlineAt: Date | null; heartbeatAt: Date | null; createdAt: Date };

async function findReusable(
  db: Pick<Prisma.TransactionClient, "check">,
  settings: CheckSettings,
  target: string,
  ports: number[],
  fresh: boolean,
  proof: boolean,
): Promise<{ done: string } | { open: OpenCheck } | null> {
  const latest = await db.check.findFirst({
    // A request for a proof by delivery reuses only a check that asked for one too.
    where: { target, ports: { equals: ports }, status: { not: "failed" }, ...(proof ? { proveDelivery: true } : {}) },
    orderBy: { createdAt: "desc" },
    select: { id: true, status: true, createdAt: true, deadlineAt: true, heartbeatAt: true },
  });
  if (!latest) return null;
  if (latest.status === "queued" || latest.status === "running" || latest.status === "waiting") return { open: latest };
  const age = Date.now() - latest.createdAt.getTime();
  if (age >= settings.reuseWindowMs) return null;
  if (fresh && age >= settings.freshCooldownMs) return null;
  return { done: latest.id };
}

/**
 * Whether a queued or running check will still end by itself: before its deadline, and either
 * just created, or its job is in the queue, or its worker's heartbeat is fresh.
 */
async function isAlive(services: CheckServices, check: OpenCheck, now: number): Promise<boolean> {
  if (check.deadlineAt && check.deadlineAt.getTime() <= now) return false;
  if (now - check.createdAt.getTime() < services.settings.reconcileGraceMs) return true;
  if (check.status === "running" && check.heartbeatAt && now - check.heartbeatAt.getTime() < HEARTBEAT_STALE_MS) return true;
  // Waiting for its follow-up (a re-check, a delivery): alive until its deadline; the reconciler
  // re-adds a lost follow-up job.
  if (check.status === "waiting") return true;
  const job = await services.queue.getJob(check.id);
  if (!job) return false;
  const state = await job.getState();
  return state !== "failed" && state !== "completed" && state !== "unknown";
}

/**
 * Who may ask for a proof by delivery (RELAYCHECK_DELIVERY_PROOF): it sends a real message, so it
 * is not offered anonymously by default (the home page explains why).
 */
function guardDeliveryProof(settings: CheckSettings, withApiKey: boolean): void {
  const who = settings.deliveryProof ?? "off";
  if (who === "off") throw new AppError("bad_request", "Proof by delivery is not offered by this service.");
  if (who === "api-key" && !withApiKey) {
    throw new AppError("bad_request", "Proof by delivery sends a real message through the server, so this service offers it only to requests with an API key.");
  }
}
