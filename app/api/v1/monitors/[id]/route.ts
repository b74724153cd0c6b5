import { deleteMonitor, getMonitor, getMonitorServices, updateMonitor, updateMonitorInput } from "@/lib/monitors";
import { answer, json } from "@/app/api/_lib/respond";
import { readJsonBody } from "@/app/api/_lib/read-json-body";
import { requireApiKey } from "@/app/api/_lib/require-api-key";

type Ctx = { params: Promise<{ id: string }> };

/** GET /api/v1/monitors/<id> → the monitor: schedule, state, last check, recent runs. */
export async function GET(request: Request, ctx: Ctx): Promise<Response> {
  return answer("GET /api/v1/monitors/[id]", async () => {
    const { id } = await ctx.params;
    const { key, limit } = await requireApiKey(request);
    return json(await getMonitor(id, key.id, getMonitorServices()), 200, limit);
  });
}

/** PATCH /api/v1/monitors/<id> `{ interval?, ports?, notify? }` → the monitor as changed. */
export async function PATCH(request: Request, ctx: Ctx): Promise<Response> {
  return answer("PATCH /api/v1/monitors/[id]", async () => {
    const { id } = await ctx.params;
    const input = await readJsonBody(request, updateMonitorInput);
    const { key, limit } = await requireApiKey(request);
    return json(await updateMonitor(id, key.id, input, getMonitorServices()), 200, limit);
  });
}

/** DELETE /api/v1/monitors/<id> → 204; its runs and delivery log go with it (the reports stay). */
export async function DELETE(request: Request, ctx: Ctx): Promise<Response> {
  return answer("DELETE /api/v1/monitors/[id]", async () => {
    const { id } = await ctx.params;
    const { key, limit } = await requireApiKey(request);
    await deleteMonitor(id, key.id, getMonitorServices());
    return new Response(null, { status: 204, headers: { ...limit, "Cache-Control": "no-store" } });
  });
}
