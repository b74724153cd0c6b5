import { z } from "zod";
import { getCheckDiff } from "@/lib/checks/get-check-diff";
import { AppError } from "@/lib/errors";
import { answer, json } from "@/app/api/_lib/respond";
import { limitRequest } from "@/app/api/_lib/client";

const diffQuery = z.object({ against: z.string().min(1).max(64) });

/** GET /api/v1/checks/<id>/diff?against=<otherId> → what changed from the other (earlier) check to this one. */
export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return answer("GET /api/v1/checks/[id]/diff", async () => {
    const { id } = await ctx.params;
    const query = diffQuery.safeParse({ against: new URL(request.url).searchParams.get("against") ?? undefined });
    if (!query.success) throw new AppError("bad_request", "Give the check to compare with: ?against=<check id>.");
    const { limit } = await limitRequest(request, "reads");
    return json(await getCheckDiff(id, query.data.against), 200, limit);
  });
}
