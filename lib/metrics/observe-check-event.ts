/** The worker's view of a check's events, as metrics (called with every event the engine produced). */
import type { ProbeEvent } from "@/lib/probe/types";
import type { Metrics } from "./metrics";

export function observeCheckEvent(metrics: Metrics, event: ProbeEvent): void {
  switch (event.type) {
    case "resolved": {
      const mx = event.resolution.errors.length;
      const hosts = event.resolution.hosts.filter((h) => h.error !== null).length;
      if (mx) metrics.dnsFailures.inc({ kind: "mx" }, mx);
      if (hosts) metrics.dnsFailures.inc({ kind: "host" }, hosts);
      return;
    }
    case "server-done":
      metrics.probeDuration.observe({ status: event.report.status }, event.report.timings.totalMs / 1000);
      return;
    case "done":
      metrics.checkDuration.observe({ verdict: event.report.verdict }, event.report.durationMs / 1000);
      metrics.checksFinished.inc({ verdict: event.report.verdict });
      return;
    default:
      return;
  }
}
