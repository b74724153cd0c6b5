import { getMonitorServices, listDeliveries } from "@/lib/monitors";
import { answer, json } from "@/app/api/_lib/respond";
import { requireApiKey } from "@/app/api/_lib/require-api-key";

/** GET /api/v1/monitors/<id>/deliveries → the monitor's alerts and every try of each, newest first. */
export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return answer("GET /api/v1/monitors/[id]/deliveries", async () => {
    const { id } = await ctx.params;
    const { key, limit } = await requireApiKey(request);
    return json({ deliveries: await listDeliveries(id, key.id, getMonitorServices()) }, 200, limit);
  });
}
