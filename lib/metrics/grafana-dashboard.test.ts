/** The Grafana dashboard in docs/ asks only for metrics the service exports. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { getMetrics } from "./metrics";
import { collectServiceMetrics } from "./collect-service-metrics";

const DASHBOARD = path.resolve(import.meta.dirname, "..", "..", "docs", "grafana-dashboard.json");

describe("docs/grafana-dashboard.json", () => {
  it("queries only metrics that exist", () => {
    const metrics = getMetrics("worker");
    // Registered only; nothing is collected here, so the sources are never asked.
    collectServiceMetrics(metrics, { queue: {} as never, db: {} as never });
    const exported = new Set(metrics.registry.getMetricsAsArray().map((m) => m.name));
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: { targets: { expr: string }[] }[] };
    const asked = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(relaycheck|process|nodejs)_[a-z0-9_]+/g) ?? [])));
    const missing = [...asked].map((n) => n.replace(/_(bucket|count|sum)$/, "")).filter((n) => !exported.has(n));
    expect(missing).toEqual([]);
    expect(asked.size).toBeGreaterThan(10);
  });
});
