import { getCheckServices } from "@/lib/checks";
import { isCheckId } from "@/lib/checks/check-id";
import { parseStored } from "@/lib/checks/parse-stored";
import { verdictSchema } from "@/lib/checks/report-schema";
import { AppError } from "@/lib/errors";
import { badgeResponse } from "@/lib/badges/badge-response";
import { answer } from "@/app/api/_lib/respond";
import { limitRequest } from "@/app/api/_lib/client";

/**
 * GET /api/v1/monitors/<id>/badge.svg → "open relay: no | yes | unknown" with the time of the
 * monitor's last verdict. No key needed: the id (128 random bits) is what is shared.
 */
export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return answer("GET /api/v1/monitors/[id]/badge.svg", async () => {
    const { id } = await ctx.params;
    const { limit } = await limitRequest(request, "reads");
    const m = isCheckId(id) ? await getCheckServices().db.monitor.findUnique({ where: { id }, select: { lastVerdict: true, lastCheckedAt: true } }) : null;
    if (!m) throw new AppError("not_found", "There is no monitor with this id.");
    const verdict = parseStored(verdictSchema.nullable(), m.lastVerdict, { checkId: id, what: "monitors.last_verdict" });
    return badgeResponse(request, { verdict, checkedAt: m.lastCheckedAt?.toISOString() ?? null }, { final: false, headers: limit });
  });
}
