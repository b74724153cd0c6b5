import { z } from "zod";
import { withAdvice } from "@/lib/advice";
import { createCheck, createCheckInput, listChecksForTarget } from "@/lib/checks";
import { AppError } from "@/lib/errors";
import { tighterLimit } from "@/lib/rate-limit/create-limiters";
import { answer, json } from "@/app/api/_lib/respond";
import { readJsonBody } from "@/app/api/_lib/read-json-body";
import { limitRequest } from "@/app/api/_lib/client";

/**
 * POST /api/v1/checks `{ target, ports?, fresh?, proveDelivery? }` → 202 (new check) or 200 (recent one reused).
 * Only a new probe takes a point of the client's check limit: invalid input gets its 400 and a
 * reused report its 200 without spending one (both count as requests, like reads).
 */
export async function POST(request: Request): Promise<Response> {
  return answer("POST /api/v1/checks", async () => {
    const input = await readJsonBody(request, createCheckInput);
    const client = await limitRequest(request, "checks");
    let checkLimit: Record<string, string> | null = null;
    const result = await createCheck(input, {
      clientIp: client.ip,
      withApiKey: client.key.startsWith("key:"),
      consumeClientPoint: async () => {
        checkLimit = await client.consumeCheckPoint();
      },
    });
    return json(withAdvice(result.check), result.created ? 202 : 200, {
      ...tighterLimit(checkLimit ?? (await client.peekCheckPoints()), result.rateLimitHeaders),
      Location: result.check.links.self,
    });
  });
}

const historyQuery = z.object({ target: z.string().min(1).max(1024) });

/** GET /api/v1/checks?target=<host> → the latest checks of that exact target. */
export async function GET(request: Request): Promise<Response> {
  return answer("GET /api/v1/checks", async () => {
    const url = new URL(request.url);
    const query = historyQuery.safeParse({ target: url.searchParams.get("target") ?? undefined });
    if (!query.success) throw new AppError("bad_request", "Give the target whose checks you want: ?target=<host name or IP>.");
    const { limit } = await limitRequest(request, "reads");
    const checks = await listChecksForTarget(query.data.target);
    return json({ target: query.data.target, checks }, 200, limit);
  });
}
