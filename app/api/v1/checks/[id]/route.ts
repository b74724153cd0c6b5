import { readCheckResponse } from "@/app/api/_lib/read-check-response";

/**
 * GET /api/v1/checks/<id> → the check: status, timestamps, queue position and the report so far,
 * each finished server with its advice (software, fix steps) and a summary in words
 * (app/api/_lib/read-check-response.ts: caching, ETag and request limit). Behind
 * scripts/serve-web.mjs a node-level handler gives the same answer before Next sees the request.
 */
export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await ctx.params;
  return readCheckResponse(request, id);
}
