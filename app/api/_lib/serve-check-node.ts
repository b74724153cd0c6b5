/**
 * GET /api/v1/checks/<id> (./read-check-response.ts) answered on node's request and response,
 * for the web server (scripts/serve-web.mjs), which hands it the request before Next.js sees it:
 * the same answer as the Next route, without Next's per-request machinery (routing, request
 * adapters, the proxy), which cost most of the time of serving a finished report from memory.
 * A finished report's body goes compressed as it is kept (compressed once), anything else is
 * compressed per request as Next would.
 *
 * Installed on globalThis by instrumentation.ts (this module is bundled by Next, with the same
 * services and report cache as the routes: both are kept on globalThis).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { requestOf, writeResponse } from "./node-response";
import { readCheckResponse } from "./read-check-response";

export type NodeCheckHandler = (req: IncomingMessage, res: ServerResponse, checkId: string) => Promise<void>;

export const serveCheckNode: NodeCheckHandler = async (req, res, checkId) => {
  await writeResponse(res, await readCheckResponse(requestOf(req), checkId, { gzip: true }), req);
};
