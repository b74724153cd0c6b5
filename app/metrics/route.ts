import { getCheckServices } from "@/lib/checks";
import { getEnv } from "@/lib/env";
import { getMetrics } from "@/lib/metrics/metrics";
import { collectServiceMetrics } from "@/lib/metrics/collect-service-metrics";
import { mayReadMetrics, METRICS_DENIED_HEADERS, METRICS_DENIED_TEXT } from "@/lib/metrics/metrics-access";
import { FORWARDED_FOR_HEADER, PEER_HEADER } from "@/lib/security/client-ip";

/**
 * GET /metrics → the web process's metrics in Prometheus's text format. Open to loopback clients;
 * others need `Authorization: Bearer <METRICS_TOKEN>` (lib/metrics/metrics-access.ts). The peer
 * address is the one scripts/serve-web.mjs puts on the request; without it nobody counts as
 * loopback.
 */
export async function GET(request: Request): Promise<Response> {
  // The X-Forwarded-For the client sent, as serve-web.mjs keeps it (Next adds one of its own to every request).
  const forwarded = request.headers.has(FORWARDED_FOR_HEADER);
  if (!mayReadMetrics({ peer: request.headers.get(PEER_HEADER), forwarded, authorization: request.headers.get("authorization") }, getEnv().METRICS_TOKEN)) {
    return new Response(METRICS_DENIED_TEXT, { status: 401, headers: { ...METRICS_DENIED_HEADERS, "Content-Type": "text/plain; charset=utf-8" } });
  }
  const metrics = getMetrics("web");
  collectServiceMetrics(metrics, getCheckServices());
  return new Response(await metrics.registry.metrics(), { headers: { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" } });
}
