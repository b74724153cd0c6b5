/**
 * Creating a check: validate the target, reuse a recent report of the same target when there is
 * one, take a point of the per-target limit, store the check, queue it.
 *
 * Reuse rules (issue 4's per-target cool-down):
 * - a queued or running check of the same target and ports is always reused (no second probe);
 * - a finished one younger than the reuse window is reused, unless `fresh` is asked and the
 *   latest check is older than the cool-down;
 * - failed checks are never reused.
 */
import { z } from "zod";
import { REPORT_SCHEMA_VERSION } from "@/lib/probe";
import { AppError } from "@/lib/errors";
import { enqueueCheck } from "@/lib/queue/create-check-queue";
import { hashClientIp } from "@/lib/security/client-ip";
import { newCheckId } from "./check-id";
import { getCheckServices, type CheckServices } from "./services";
import { validateTarget } from "./validate-target";
import { getCheck } from "./get-check";
import { recordCheckEvent } from "./record-check-event";
import type { CheckView } from "./types";

export const createCheckInput = z
  .object({
    target: z.string().min(1, "target is required").max(1024, "target is too long"),
    ports: z.array(z.number().int().min(1).max(65535)).min(1).max(3).optional(),
    fresh: z.boolean().optional(),
  })
  .strict();

export type CreateCheckInput = z.infer<typeof createCheckInput>;

export interface CreateCheckContext {
  /** The client's IP address (hashed before it is stored anywhere). */
  clientIp: string;
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

  const recent = await findReusable(services, target.name, ports, input.fresh === true);
  if (recent) {
    const view = await getCheck(recent, services);
    if (view) return { check: { ...view, reused: true }, created: false, rateLimitHeaders: {} };
  }

  const rateLimitHeaders = await services.limiters.targetChecks.consume(target.name);
  const id = newCheckId();
  await db.check.create({
    data: {
      id,
      target: target.name,
      targetKind: target.kind,
      input: target.input,
      targetUnicode: target.unicode ?? null,
      targetStripped: target.stripped ?? null,
      ports,
      schemaVersion: REPORT_SCHEMA_VERSION,
      clientIpHash: hashClientIp(ctx.clientIp, settings.ipHashSecret),
    },
  });
  const log = services.log.child({ checkId: id });
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

async function findReusable(services: CheckServices, target: string, ports: number[], fresh: boolean): Promise<string | null> {
  const { db, settings } = services;
  const latest = await db.check.findFirst({
    where: { target, ports: { equals: ports }, status: { not: "failed" } },
    orderBy: { createdAt: "desc" },
    select: { id: true, status: true, createdAt: true },
  });
  if (!latest) return null;
  if (latest.status === "queued" || latest.status === "running") return latest.id;
  const age = Date.now() - latest.createdAt.getTime();
  if (age >= settings.reuseWindowMs) return null;
  if (fresh && age >= settings.freshCooldownMs) return null;
  return latest.id;
}
