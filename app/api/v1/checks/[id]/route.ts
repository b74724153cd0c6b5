import { withAdvice } from "@/lib/advice";
import { readCheck } from "@/lib/checks/report-cache";
import { AppError } from "@/lib/errors";
import { answer, json } from "@/app/api/_lib/respond";
import { limitRequest } from "@/app/api/_lib/client";
import { FINISHED_REPORT_HEADERS, matchesEtag } from "@/app/api/_lib/report-headers";

/**
 * GET /api/v1/checks/<id> → the check: status, timestamps, queue position and the report so far,
 * each finished server with its advice (software, fix steps) and a summary in words.
 *
 * A finished check (done, failed) comes from the process's report cache with a strong ETag and
 * may be kept by the client (FINISHED_REPORT_HEADERS); `If-None-Match` with that ETag is answered
 * 304 without a body. A check still queued, running or waiting is read anew and never cached
 * (`no-store`). Every request, a 304 too, counts against the client's request limit.
 */
export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return answer("GET /api/v1/checks/[id]", async () => {
    const { id } = await ctx.params;
    const { limit } = await limitRequest(request, "reads");
    const check = await readCheck(id);
    if (!check) throw new AppError("not_found", "There is no check with this id.");
    if (check.live) return json(withAdvice(check.live), 200, limit);
    const { body, etag } = check.finished;
    const headers = { ...FINISHED_REPORT_HEADERS, ...limit, ETag: etag };
    if (matchesEtag(request.headers.get("if-none-match"), etag)) return new Response(null, { status: 304, headers });
    return new Response(body, { status: 200, headers: { ...headers, "Content-Type": "application/json" } });
  });
}
