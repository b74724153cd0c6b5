/**
 * A worker takes a check, in one statement holding the check's row: it is marked running with a
 * new attempt number and a deadline, and its first events are stored (`status: running`); a
 * check that was already running (its earlier worker died or lost its job) forgets that run's
 * partial rows, and viewers get an `attempt` event first so they start over too. A finished
 * check is left alone.
 */
import { Prisma } from "@/lib/generated/prisma/client";
import type { CheckServices } from "./services";
import { publishCheckEvents } from "./record-check-event";
import type { CheckStreamEvent } from "./types";

/** Time after a worker's own check timeout for its final writes, before the reconciler steps in. */
export const FINISH_MARGIN_MS = 60_000;

const RERUN_REASON = "The worker running this check stopped; it starts again from the beginning.";

export type StartedRun = { started: false; status: string } | { started: true; attempt: number; rerun: boolean; deadlineAt: Date };

export async function startCheckRun(
  services: Pick<CheckServices, "db" | "redis" | "settings" | "log">,
  checkId: string,
  options: { runMs: number },
): Promise<StartedRun> {
  const now = new Date();
  const deadlineAt = new Date(now.getTime() + options.runMs + FINISH_MARGIN_MS);
  const running: CheckStreamEvent = { type: "status", t: 0, status: "running" };
  const runningText = JSON.stringify(running);
  // `current` locks the row (a concurrent start waits, then sees this one's claim: a rerun).
  const [row] = await services.db.$queryRaw<{ status: string; attempt: number | null; rerun: boolean | null; before: number | null }[]>`
    WITH current AS (
      SELECT id, status, attempt, last_seq, (status = 'running' OR attempt > 0) AS rerun
      FROM checks WHERE id = ${checkId} FOR UPDATE
    ), claimed AS (
      UPDATE checks
      SET status = 'running', started_at = ${now}::timestamp(3), attempt = current.attempt + 1, deadline_at = ${deadlineAt}::timestamp(3),
          heartbeat_at = ${now}::timestamp(3), verdict = NULL, reason = NULL,
          last_seq = current.last_seq + CASE WHEN current.rerun THEN 2 ELSE 1 END
      FROM current WHERE checks.id = current.id AND current.status NOT IN ('done', 'failed')
      RETURNING current.attempt + 1 AS attempt, current.rerun, current.last_seq AS before
    ), forgot_cases AS (
      DELETE FROM check_cases WHERE check_id = ${checkId} AND (SELECT rerun FROM claimed)
    ), forgot_servers AS (
      DELETE FROM check_servers WHERE check_id = ${checkId} AND (SELECT rerun FROM claimed)
    ), stored AS (
      INSERT INTO check_events (check_id, seq, last_seq, data)
      SELECT ${checkId}, before + 1, before + CASE WHEN rerun THEN 2 ELSE 1 END,
             CASE WHEN rerun THEN '[' || ${Prisma.raw(attemptEventSql("attempt"))} || ',' || ${runningText} || ']' ELSE '[' || ${runningText} || ']' END
      FROM claimed
    )
    SELECT current.status, claimed.attempt, claimed.rerun, claimed.before FROM current LEFT JOIN claimed ON true`;
  if (!row) return { started: false, status: "missing" };
  if (row.attempt === null || row.before === null) return { started: false, status: row.status };
  const rerun = row.rerun === true;
  const texts = rerun ? [JSON.stringify(attemptEvent(row.attempt)), runningText] : [runningText];
  await publishCheckEvents(services, checkId, texts.map((_, i) => row.before! + 1 + i), texts);
  return { started: true, attempt: row.attempt, rerun, deadlineAt };
}

function attemptEvent(attempt: number): CheckStreamEvent {
  return { type: "attempt", t: 0, attempt, reason: RERUN_REASON };
}

/** The `attempt` event's JSON as SQL, its number from the column `column` (the same text JSON.stringify gives). */
function attemptEventSql(column: string): string {
  const [head, tail] = JSON.stringify(attemptEvent(0)).split('"attempt":0');
  return `${quote(head!)} || '"attempt":' || ${column} || ${quote(`${tail!}`)}`;
}

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The running worker's sign of life (see Check.heartbeatAt); a finished check is not touched. */
export async function beatCheckHeart(services: Pick<CheckServices, "db">, checkId: string): Promise<void> {
  await services.db.check.updateMany({ where: { id: checkId, status: "running" }, data: { heartbeatAt: new Date() } });
}
