import { readCheck } from "@/lib/checks/report-cache";
import { AppError } from "@/lib/errors";
import { badgeResponse } from "@/lib/badges/badge-response";
import { answer } from "@/app/api/_lib/respond";
import { limitRequest } from "@/app/api/_lib/client";

/** GET /api/v1/checks/<id>/badge.svg → the report's "open relay: no | yes | unknown" with its time; cached for good once the check has ended. */
export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return answer("GET /api/v1/checks/[id]/badge.svg", async () => {
    const { id } = await ctx.params;
    const { limit } = await limitRequest(request, "reads");
    const read = await readCheck(id);
    const check = read ? (read.finished?.view ?? read.live) : null;
    if (!check) throw new AppError("not_found", "There is no check with this id.");
    const final = check.status === "done" || check.status === "failed";
    return badgeResponse(request, { verdict: check.status === "done" ? check.verdict : null, checkedAt: check.finishedAt }, { final, headers: final ? {} : limit });
  });
}
