import { getCheckServices, type CheckServices } from "./services";
import { checkViewOf } from "./build-check-view";
import { isCheckId } from "./check-id";
import { loadCheckCases } from "./load-check-cases";
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
  const [servers, queuePosition] = await Promise.all([
    db.checkServer.findMany({ where: { checkId: id } }),
    // Checks queued before this one, plus this one: never 0, even when a worker takes this
    // check between the two queries.
    check.status === "queued"
      ? db.check.count({ where: { status: "queued", createdAt: { lt: check.createdAt } } }).then((ahead) => ahead + 1)
      : Promise.resolve(null),
  ]);
  const cases = await loadCheckCases(db, id, servers);
  return checkViewOf(check, servers, cases, queuePosition);
}
