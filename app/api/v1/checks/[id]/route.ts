import { getCheck, getCheckServices } from "@/lib/checks";
import { AppError } from "@/lib/errors";
import { answer, json } from "@/app/api/_lib/respond";
import { clientOf } from "@/app/api/_lib/client";

/** GET /api/v1/checks/<id> → the check: status, timestamps, queue position and the report so far. */
export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return answer("GET /api/v1/checks/[id]", async () => {
    const { id } = await ctx.params;
    const limit = await getCheckServices().limiters.clientReads.consume(clientOf(request).key);
    const check = await getCheck(id);
    if (!check) throw new AppError("not_found", "There is no check with this id.");
    return json(check, 200, limit);
  });
}
