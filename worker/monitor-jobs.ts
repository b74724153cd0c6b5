/**
 * The monitors' jobs: `run-monitor` (a monitor's turn), `deliver-alert` (one try of an alert;
 * throwing lets BullMQ retry it with backoff), `sweep-monitors` (the safety net). The work is in
 * lib/monitors; these parse the payload and count what happened.
 */
import { UnrecoverableError, type Job } from "bullmq";
import { deliverAlertJob, runMonitorJob } from "@/lib/queue/jobs";
import { attemptDelivery, runMonitor, sweepMonitors, type MonitorServices } from "@/lib/monitors";
import type { Metrics } from "@/lib/metrics/metrics";

export function createRunMonitorHandler(services: MonitorServices, metrics: Metrics) {
  return async function handleRunMonitor(job: Job): Promise<void> {
    const parsed = runMonitorJob.payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`bad run-monitor payload: ${parsed.error.message}`);
    const turn = await runMonitor(services, parsed.data.monitorId);
    metrics.monitorTurns.inc({ result: "started" in turn ? "started" : turn.skipped });
  };
}

export function createDeliverAlertHandler(services: MonitorServices, metrics: Metrics) {
  return async function handleDeliverAlert(job: Job): Promise<void> {
    const parsed = deliverAlertJob.payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`bad deliver-alert payload: ${parsed.error.message}`);
    const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const delivery = await services.db.alertDelivery.findUnique({ where: { id: parsed.data.deliveryId }, select: { channel: true } });
    const outcome = await attemptDelivery(services, parsed.data.deliveryId, { lastTry });
    if (outcome !== "skipped") metrics.alertDeliveries.inc({ channel: delivery?.channel ?? "unknown", result: outcome });
    // BullMQ waits (exponential backoff) and runs the job again.
    if (outcome === "retry") throw new Error(`alert ${parsed.data.deliveryId} not delivered yet`);
  };
}

export function createSweepMonitorsHandler(services: MonitorServices) {
  return async function handleSweepMonitors(): Promise<void> {
    await sweepMonitors(services);
  };
}
