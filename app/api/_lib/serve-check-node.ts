/**
 * GET /api/v1/checks/<id> (./read-check-response.ts) answered on node's request and response,
 * for the web server (scripts/serve-web.mjs), which hands it the request before Next.js sees it:
 * the same answer as the Next route, without Next's per-request machinery (routing, request
 * adapters, the proxy) nor fetch Request and Response objects, which cost most of the time of
 * serving a finished report from memory. A finished report's body goes out as it is kept (its
 * gzip form compressed once); anything else is compressed per request as Next would.
 *
 * Installed on globalThis by instrumentation.ts (this module is bundled by Next, with the same
 * services and report cache as the routes: both are kept on globalThis).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { headerReaderOf, SECURITY_HEADERS, writeResponse } from "./node-response";
import { readCheckAnswer } from "./read-check-response";

export type NodeCheckHandler = (req: IncomingMessage, res: ServerResponse, checkId: string) => Promise<void>;

export const serveCheckNode: NodeCheckHandler = async (req, res, checkId) => {
  const answer = await readCheckAnswer({ headers: headerReaderOf(req) }, checkId, { gzip: true });
  if (answer instanceof Response) return writeResponse(res, answer, req);
  if (res.destroyed) return;
  const headers: Record<string, string | number> = { ...SECURITY_HEADERS, ...answer.headers };
  if (answer.body !== null) headers["Content-Length"] = Buffer.byteLength(answer.body);
  res.writeHead(answer.status, headers);
  res.end(answer.body ?? undefined);
};
