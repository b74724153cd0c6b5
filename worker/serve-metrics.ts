/**
 * The worker's /metrics: a small HTTP server on WORKER_METRICS_HOST:WORKER_METRICS_PORT (port 0:
 * any free port; the log line "worker metrics listening" names it). Same rule as the web's: open
 * to loopback clients, to others only with METRICS_TOKEN (lib/metrics/metrics-access.ts).
 */
import http from "node:http";
import type { Logger } from "@/lib/logger";
import type { Metrics } from "@/lib/metrics/metrics";
import { mayReadMetrics, METRICS_DENIED_HEADERS, METRICS_DENIED_TEXT } from "@/lib/metrics/metrics-access";

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function serveMetrics(metrics: Metrics, options: { host: string; port: number; token?: string; log: Logger }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("Only GET /metrics here.\n");
      return;
    }
    const allowed = mayReadMetrics({ peer: req.socket.remoteAddress ?? null, forwarded: req.headers["x-forwarded-for"] !== undefined, authorization: req.headers.authorization ?? null }, options.token);
    if (!allowed) {
      res.writeHead(401, { ...METRICS_DENIED_HEADERS, "Content-Type": "text/plain; charset=utf-8" }).end(METRICS_DENIED_TEXT);
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" }).end(text),
      (err: unknown) => {
        options.log.error({ err }, "metrics could not be collected");
        res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" }).end("metrics could not be collected\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  options.log.info({ host: options.host, port }, "worker metrics listening");
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
