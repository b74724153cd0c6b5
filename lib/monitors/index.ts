/** Monitoring (issue 14): scheduled re-checks of a target with alerts on change. */
export { createMonitor, listMonitors, getMonitor, updateMonitor, deleteMonitor, listDeliveries } from "./manage-monitors";
export { sendTestAlert, attemptDelivery } from "./deliver-alert";
export { runMonitor } from "./run-monitor";
export { settleMonitorRun, settleRunsOfCheck } from "./settle-monitor-run";
export { sweepMonitors } from "./sweep-monitors";
export { monitorSchedulersKeeper, syncMonitorSchedulers } from "./keep-monitor-schedulers";
export { getMonitorServices, monitorSettingsFromEnv, type MonitorServices, type MonitorSettings } from "./monitor-settings";
export * from "./monitor-schema";
