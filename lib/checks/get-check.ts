import { getCheckServices, type CheckServices } from "./services";
import { checkViewOf } from "./build-check-view";
import { isCheckId } from "./check-id";
import type { CheckView } from "./types";

/**
 * A check as the API and the report page show it, or null when there is no such check (or the
 * id is not even well-formed). Usable from React Server Components.
 */
export async function getCheck(id: string, services: Pick<CheckServices, "db"> = getCheckServices()): Promise<CheckView | null> {
  if (!isCheckId(id)) return null;
  const { db } = services;
  const check = await db.check.findUnique({ where: { id } });
  if (!check) return null;
  const [servers, cases, queuePosition] = await Promise.all([
    db.checkServer.findMany({ where: { checkId: id } }),
    db.checkCase.findMany({ where: { checkId: id } }),
    check.status === "queued"
      ? db.check.count({ where: { status: "queued", createdAt: { lte: check.createdAt } } })
      : Promise.resolve(null),
  ]);
  return checkViewOf(check, servers, cases, queuePosition);
}
