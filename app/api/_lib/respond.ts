/**
 * The API's answers: JSON bodies, and errors as `{ error: { code, message } }` with the status
 * from one table. Anything that is not an AppError is logged and answered with a plain 500 that
 * says nothing about the inside.
 */
import { AppError, type AppErrorCode } from "@/lib/errors";
import { logger } from "@/lib/logger";

const STATUS: Record<AppErrorCode, number> = {
  bad_request: 400,
  invalid_target: 400,
  target_refused: 400,
  invalid_api_key: 401,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  damaged_record: 500,
};

const NO_STORE = { "Cache-Control": "no-store" };

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { ...NO_STORE, ...headers } });
}

export function errorResponse(e: unknown, route: string): Response {
  if (e instanceof AppError) {
    return json({ error: { code: e.code, message: e.message } }, STATUS[e.code], e.headers);
  }
  if (isDatabaseDown(e) || isRedisDown(e)) {
    logger.error({ err: e, route }, isRedisDown(e) ? "Redis unreachable" : "database unreachable");
    return json({ error: { code: "unavailable", message: "The service is temporarily unavailable. Please try again shortly." } }, STATUS.unavailable);
  }
  logger.error({ err: e, route }, "unhandled error");
  return json({ error: { code: "internal", message: "Internal server error." } }, 500);
}

/** Prisma's "cannot reach / connection closed / timed out" codes: a dependency is down, not a bug. */
const DATABASE_DOWN = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);

function isDatabaseDown(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && DATABASE_DOWN.has(code);
}

/** ioredis's errors for a Redis that is down, frozen or gone (command timeout, no connection). */
function isRedisDown(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return e.name === "MaxRetriesPerRequestError" || /^(Command timed out|Connection is closed|Stream isn't writeable)/.test(e.message);
}

/** Runs a handler and turns whatever it throws into an error response. */
export async function answer<T = Response>(route: string, handler: () => Promise<T>): Promise<T | Response> {
  try {
    return await handler();
  } catch (e) {
    return errorResponse(e, route);
  }
}
