import { getCheckServices, type CheckServices } from "./services";
import { normalizeTargetOrThrow } from "./validate-target";
import { parseStored } from "./parse-stored";
import { checkStatusSchema, verdictSchema } from "./report-schema";
import type { CheckHistoryItem } from "./types";

export const HISTORY_LIMIT = 50;

/**
 * The latest checks of one exact target, newest first. There is deliberately no listing of all
 * checks: reports are unlisted, found only by id or by the exact target.
 * Throws AppError "invalid_target" when `target` is not a valid target.
 */
export async function listChecksForTarget(
  target: string,
  services: Pick<CheckServices, "db" | "settings"> = getCheckServices(),
): Promise<CheckHistoryItem[]> {
  const normalized = normalizeTargetOrThrow(target, services.settings.allowReservedNames);
  const rows = await services.db.check.findMany({
    where: { target: normalized.name },
    orderBy: { createdAt: "desc" },
    take: HISTORY_LIMIT,
    select: { id: true, status: true, createdAt: true, finishedAt: true, verdict: true },
  });
  return rows.map((r) => ({
    id: r.id,
    status: parseStored(checkStatusSchema, r.status, { checkId: r.id, what: "checks.status" }),
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    verdict: parseStored(verdictSchema.nullable(), r.verdict, { checkId: r.id, what: "checks.verdict" }),
    url: `/checks/${r.id}`,
  }));
}
