import { createMonitor, createMonitorInput, getMonitorServices, listMonitors } from "@/lib/monitors";
import { answer, json } from "@/app/api/_lib/respond";
import { readJsonBody } from "@/app/api/_lib/read-json-body";
import { requireApiKey } from "@/app/api/_lib/require-api-key";

/** POST /api/v1/monitors `{ target, ports?, interval?, notify? }` → 201 the monitor (its first check starts now). */
export async function POST(request: Request): Promise<Response> {
  return answer("POST /api/v1/monitors", async () => {
    const input = await readJsonBody(request, createMonitorInput);
    const { key, limit } = await requireApiKey(request);
    const monitor = await createMonitor(input, key.id, getMonitorServices());
    return json(monitor, 201, { ...limit, Location: monitor.links.self });
  });
}

/** GET /api/v1/monitors → the key's own monitors. */
export async function GET(request: Request): Promise<Response> {
  return answer("GET /api/v1/monitors", async () => {
    const { key, limit } = await requireApiKey(request);
    return json({ monitors: await listMonitors(key.id, getMonitorServices()) }, 200, limit);
  });
}
