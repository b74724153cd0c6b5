import { getMonitorServices, sendTestAlert } from "@/lib/monitors";
import { answer, json } from "@/app/api/_lib/respond";
import { requireApiKey } from "@/app/api/_lib/require-api-key";

/** POST /api/v1/monitors/<id>/test-webhook → sends a test alert to the monitor's webhook now, once; 200 with its log entry (delivered or failed, and why). */
export async function POST(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return answer("POST /api/v1/monitors/[id]/test-webhook", async () => {
    const { id } = await ctx.params;
    const { key, limit } = await requireApiKey(request, "checks");
    return json(await sendTestAlert(id, key.id, "webhook", getMonitorServices()), 200, limit);
  });
}
