import { getCheck } from "@/lib/checks";
import { withAdvice } from "@/lib/advice";
import { AppError } from "@/lib/errors";
import { answer, json } from "@/app/api/_lib/respond";
import { limitRequest } from "@/app/api/_lib/client";

/**
 * GET /api/v1/checks/<id> → the check: status, timestamps, queue position and the report so far,
 * each finished server with its advice (software, fix steps) and a summary in words.
 */
export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return answer("GET /api/v1/checks/[id]", async () => {
    const { id } = await ctx.params;
    const { limit } = await limitRequest(request, "reads");
    const check = await getCheck(id);
    if (!check) throw new AppError("not_found", "There is no check with this id.");
    return json(withAdvice(check), 200, limit);
  });
}
