/**
 * Operator metrics in Prometheus's text format (prom-client), one registry per process, labelled
 * `process="web"` or `process="worker"`. Served at /metrics by the web server (app/metrics) and by
 * the worker on its own port (worker/serve-metrics.ts); who may read them: ./metrics-access.ts.
 *
 * - Counted where they happen: rate-limit refusals (lib/rate-limit), live viewers (the SSE
 *   route), job wait, probe and check durations, finished checks, DNS failures (the worker),
 *   monitor turns and alert deliveries.
 * - Read at scrape time from the shared state (./collect-service-metrics.ts): queue depth and the
 *   oldest waiting job, recent checks by status and verdict, monitors by state. Every process
 *   reports the same values for these: aggregate them with max(), not sum().
 *
 * Kept on globalThis: Next.js may load this module more than once in one process (the
 * instrumentation bundle apart from the routes'), and a metric registered twice is an error.
 */
import client from "prom-client";

export type ProcessName = "web" | "worker";

/** Seconds: from a fast local probe to a check that used its whole budget. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
/** Seconds a job waited in the queue. */
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600];

function createMetrics(process: ProcessName) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ process });
  client.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    process,
    registry,
    rateLimitRefusals: new client.Counter({ name: "relaycheck_rate_limit_refusals_total", help: "Requests refused by a rate limit.", labelNames: ["limit"] as const, registers }),
    sseViewers: new client.Gauge({ name: "relaycheck_sse_viewers", help: "Live event streams open now.", registers }),
    jobWait: new client.Histogram({ name: "relaycheck_job_wait_seconds", help: "Time a job waited in the queue after it was due.", labelNames: ["job"] as const, buckets: WAIT_BUCKETS, registers }),
    checkDuration: new client.Histogram({ name: "relaycheck_check_duration_seconds", help: "Duration of a whole check, by verdict.", labelNames: ["verdict"] as const, buckets: DURATION_BUCKETS, registers }),
    probeDuration: new client.Histogram({ name: "relaycheck_probe_duration_seconds", help: "Duration of the probe of one server, by connection status.", labelNames: ["status"] as const, buckets: DURATION_BUCKETS, registers }),
    checksFinished: new client.Counter({ name: "relaycheck_checks_finished_total", help: "Checks this worker finished, by verdict.", labelNames: ["verdict"] as const, registers }),
    dnsFailures: new client.Counter({ name: "relaycheck_dns_failures_total", help: "DNS lookups of a check that failed: `mx` for the domain's, `host` for a server's addresses.", labelNames: ["kind"] as const, registers }),
    monitorTurns: new client.Counter({ name: "relaycheck_monitor_turns_total", help: "Monitor turns: a check started, or why the turn was skipped.", labelNames: ["result"] as const, registers }),
    alertDeliveries: new client.Counter({ name: "relaycheck_alert_deliveries_total", help: "Tries of alerts, by channel and outcome.", labelNames: ["channel", "result"] as const, registers }),
    collectErrors: new client.Counter({ name: "relaycheck_metrics_collect_errors_total", help: "Scrapes that could not read Redis or PostgreSQL (their gauges keep the last values).", labelNames: ["source"] as const, registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

const holder = globalThis as typeof globalThis & { __relaycheckMetrics?: Metrics };

/** This process's metrics; the first call names the process (the worker calls it first, at start). */
export function getMetrics(process: ProcessName = "web"): Metrics {
  holder.__relaycheckMetrics ??= createMetrics(process);
  return holder.__relaycheckMetrics;
}

/** Counts one live viewer until the returned function is called (any number of times). */
export function trackSseViewer(): () => void {
  const gauge = getMetrics().sseViewers;
  gauge.inc();
  let open = true;
  return () => {
    if (open) gauge.dec();
    open = false;
  };
}
