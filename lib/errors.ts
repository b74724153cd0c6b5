/**
 * Errors the service means to show: each has a code from one closed set, a message written for
 * people, and optionally headers (Retry-After…). The HTTP status of each code is in one table
 * (app/api/_lib/respond.ts). Anything that is not an AppError is an internal error: logged,
 * answered with a plain 500, never echoed.
 */
export const APP_ERROR_CODES = [
  "bad_request", // malformed request: JSON, fields, query
  "invalid_target", // the target is not a host name or IP we accept
  "target_refused", // the target policy refuses the address or port
  "invalid_api_key", // an Authorization header with a malformed, unknown or revoked key
  "not_found",
  "payload_too_large",
  "unsupported_media_type", // a JSON body sent without `Content-Type: application/json`
  "rate_limited",
  "unavailable", // a dependency (database, Redis) is down
  "damaged_record", // stored data of a check does not match its schema (logged with the check id)
] as const;
export type AppErrorCode = (typeof APP_ERROR_CODES)[number];

/** Every `error.code` the API answers with: ours, and `internal` for the plain 500. */
export const API_ERROR_CODES = [...APP_ERROR_CODES, "internal"] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
