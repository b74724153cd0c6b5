/**
 * The service's check functions: what route handlers and the report pages call. Each takes its
 * services as an optional last argument (default: the process-wide ones from lib/env.ts).
 */
export { createCheck, createCheckInput, type CreateCheckInput, type CreateCheckContext, type CreateCheckResult } from "./create-check";
export { getCheck } from "./get-check";
export { listChecksForTarget, HISTORY_LIMIT } from "./list-checks-for-target";
export { openCheckEvents, getLiveEvents, type CheckEventStream, type LiveBatch, type LiveEntry } from "./stream-check-events";
export { isCheckId, CHECK_ID_PATTERN } from "./check-id";
export { getCheckServices, createCheckServices, closeCheckServices, type CheckServices, type CheckSettings } from "./services";
export type { CheckView, CheckStatus, CheckStreamEvent, CheckHistoryItem, CheckLinks, PendingServer } from "./types";
