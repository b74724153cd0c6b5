import { AppError } from "@/lib/errors";
import { getCheckServices, type CheckServices } from "./services";
import { getCheck } from "./get-check";
import { diffChecks, type CheckDiff } from "./diff-checks";
import { isTerminalStatus } from "./record-check-event";

/**
 * What changed from check `againstId` (the earlier one) to check `id`: both must exist, be
 * checks of the same target, and have ended (a running check's report is still partial).
 * Throws AppError `not_found` or `bad_request` otherwise.
 */
export async function getCheckDiff(id: string, againstId: string, services: Pick<CheckServices, "db"> = getCheckServices()): Promise<CheckDiff> {
  const [to, from] = await Promise.all([getCheck(id, services), getCheck(againstId, services)]);
  if (!to) throw new AppError("not_found", "There is no check with this id.");
  if (!from) throw new AppError("not_found", "There is no check with the id given in `against`.");
  if (to.target.name !== from.target.name) {
    throw new AppError("bad_request", `The two checks are of different targets (${from.target.name}, ${to.target.name}): only checks of one target can be compared.`);
  }
  if (!isTerminalStatus(to.status) || !isTerminalStatus(from.status)) {
    throw new AppError("bad_request", "Both checks must have finished before they can be compared.");
  }
  return diffChecks(from, to);
}

/**
 * The latest finished check of the same target created before `view`, for "what changed since
 * the last check"; null when there is none.
 */
export async function findPreviousCheckId(
  view: { id: string; createdAt: string; target: { name: string } },
  services: Pick<CheckServices, "db"> = getCheckServices(),
): Promise<string | null> {
  const previous = await services.db.check.findFirst({
    where: { target: view.target.name, status: "done", createdAt: { lt: new Date(view.createdAt) }, id: { not: view.id } },
    orderBy: { createdAt: "desc" },
    select: { id: true },
  });
  return previous?.id ?? null;
}
