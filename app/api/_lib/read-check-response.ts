/**
 * GET /api/v1/checks/<id>'s answer, for its Next route and for the node-level handler that the
 * web server (scripts/serve-web.mjs) hands the request to before Next sees it
 * (./serve-check-node.ts): the same answer, without Next's per-request machinery.
 *
 * A finished check (done, failed) comes from the process's report cache with a strong ETag and
 * may be kept by the client (FINISHED_REPORT_HEADERS); `If-None-Match` with that ETag is answered
 * 304 without a body. A check still queued, running or waiting is read anew and never cached
 * (`no-store`). Every request, a 304 too, counts against the client's request limit.
 */
import { withAdvice } from "@/lib/advice";
import { readCheck } from "@/lib/checks/report-cache";
import { AppError } from "@/lib/errors";
import { answer, json } from "./respond";
import { limitRequest } from "./client";
import type { HeaderReader } from "@/lib/security/client-ip";
import { acceptsGzip, FINISHED_REPORT_HEADERS, matchesEtag } from "./report-headers";

export const READ_CHECK_ROUTE = "GET /api/v1/checks/[id]";

/** An answer written as it is, without a fetch Response: a finished report from memory. */
export interface PlainAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer | null;
}

/**
 * The answer: a finished report as a PlainAnswer, anything else (a live check, an error) as a
 * Response. `gzip`: answer a client that accepts it with the report's body compressed once (the
 * node-level handler); Next's route leaves that off, as Next compresses every response itself
 * (and would compress an already compressed body again).
 */
export function readCheckAnswer(request: { headers: HeaderReader }, id: string, options: { gzip?: boolean } = {}): Promise<Response | PlainAnswer> {
  return answer(READ_CHECK_ROUTE, async (): Promise<Response | PlainAnswer> => {
    const { limit } = await limitRequest(request, "reads");
    const check = await readCheck(id);
    if (!check) throw new AppError("not_found", "There is no check with this id.");
    if (check.live) return json(withAdvice(check.live), 200, limit);
    const { body, gzipped, etag } = check.finished;
    const headers = { ...FINISHED_REPORT_HEADERS, ...limit, ETag: etag, Vary: "Accept-Encoding" };
    if (matchesEtag(request.headers.get("if-none-match"), etag)) return { status: 304, headers, body: null };
    if (options.gzip && acceptsGzip(request.headers.get("accept-encoding"))) {
      return { status: 200, headers: { ...headers, "Content-Type": "application/json", "Content-Encoding": "gzip" }, body: gzipped };
    }
    return { status: 200, headers: { ...headers, "Content-Type": "application/json" }, body };
  });
}

/** The answer as a fetch Response (the Next route). */
export async function readCheckResponse(request: Request, id: string): Promise<Response> {
  const a = await readCheckAnswer(request, id);
  return a instanceof Response ? a : new Response(a.body === null ? null : typeof a.body === "string" ? a.body : new Uint8Array(a.body), { status: a.status, headers: a.headers });
}
