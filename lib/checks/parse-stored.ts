/**
 * Reading back what the service stored (JSON columns, closed-set columns, live-stream entries):
 * each value is parsed with its schema (lib/checks/report-schema.ts) where it is read, so a row
 * that does not match (a manual edit, a bug in a writer, a version this service cannot read)
 * is reported there, once and clearly, instead of failing later deep inside a React page.
 *
 * A damaged value is logged as an error with the check id, where it sits and zod's issues (never
 * the value itself), and becomes an AppError `damaged_record` (HTTP 500, a message for people).
 */
import type { z } from "zod";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";
import { REPORT_SCHEMA_VERSION } from "@/lib/probe/types";

/** Where a stored value sits, for the log line: the check and e.g. "check_servers.report". */
export interface StoredPlace {
  checkId: string;
  what: string;
}

/** Report schema versions this service can read (a new version brings its upgrade of older rows). */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [REPORT_SCHEMA_VERSION];

const MAX_LOGGED_ISSUES = 5;

export function damagedRecord(place: StoredPlace, detail: Record<string, unknown>): AppError {
  logger.error({ checkId: place.checkId, what: place.what, ...detail }, "stored check data is damaged: it does not match its schema");
  return new AppError("damaged_record", `The stored data of this check is damaged and cannot be shown (check ${place.checkId}). The operators can find the details in the service's log.`);
}

export function parseStored<S extends z.ZodType>(schema: S, value: unknown, place: StoredPlace): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, MAX_LOGGED_ISSUES).map((i) => ({ path: i.path.join("."), code: i.code, message: i.message }));
  throw damagedRecord(place, { issues, issueCount: result.error.issues.length });
}

export function assertReadableVersion(schemaVersion: number, place: StoredPlace): void {
  if (!READABLE_SCHEMA_VERSIONS.includes(schemaVersion)) {
    throw damagedRecord(place, { schemaVersion, readable: READABLE_SCHEMA_VERSIONS });
  }
}
