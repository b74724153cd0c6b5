/**
 * The service's latency as a user sees it: from POST /api/v1/checks to the first SSE event, to
 * the first probe event (`resolved`), and to `done`, against a local fake SMTP server, through
 * the real web server, queue, worker, PostgreSQL and Redis. Prints figures; not run by tests.
 *
 *   npm run bench:service -- [--runs 20] [--target open|closed]
 *
 * Prepares what it needs like `npm test` (PostgreSQL and Redis found or started, a migrated
 * database, the build).
 */
import { parseArgs } from "node:util";
import { prepareBench } from "./prepare-bench";
import { startService } from "@/tests/support/service";
import { startDnsServer } from "@/tests/support/dns-server";
import { startClosed, startOpenRelay } from "@/tests/fakes/presets";
import { readEvents } from "@/tests/service/read-events";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" }, target: { type: "string", default: "open" } } });
const runs = Number(values.runs);

function stats(label: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `${label.padEnd(28)} median ${at(0.5).toFixed(1).padStart(7)} ms   p90 ${at(0.9).toFixed(1).padStart(7)} ms   min ${s[0]!.toFixed(1).padStart(7)} ms   max ${s.at(-1)!.toFixed(1).padStart(7)} ms`;
}

async function main(): Promise<void> {
  const services = await prepareBench("relaycheck_bench");

  const dns = await startDnsServer({});
  const fake = values.target === "closed" ? await startClosed({ host: "127.0.0.49", port: 25 }) : await startOpenRelay({ host: "127.0.0.49", port: 25 });
  const service = await startService({ dnsServers: [dns.address], env: { CHECK_REUSE_WINDOW_SECONDS: "0", LOG_LEVEL: "warn" } });
  const firstEvent: number[] = [];
  const firstProbeEvent: number[] = [];
  const done: number[] = [];
  let events = 0;
  try {
    for (let i = 0; i < runs + 1; i++) {
      const t0 = performance.now();
      const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${i + 1}` },
        body: JSON.stringify({ target: "127.0.0.49" }),
      });
      const { id } = (await res.json()) as { id: string };
      let tFirst = 0;
      let tProbe = 0;
      const result = await readEvents(`${service.baseUrl}/api/v1/checks/${id}/events`, {
        until: (e) => {
          const now = performance.now() - t0;
          if (e.length === 1) tFirst = now;
          if (!tProbe && e.at(-1)!.type === "resolved") tProbe = now;
          return false;
        },
      });
      const tDone = performance.now() - t0;
      if (i === 0) continue; // warm-up: first connections, JIT
      firstEvent.push(tFirst);
      firstProbeEvent.push(tProbe);
      done.push(tDone);
      events += result.events.length;
    }
  } finally {
    await service.stop();
    await fake.close();
    await dns.close();
    await services.stop();
  }
  console.log(`${runs} checks of a local ${values.target === "closed" ? "closed server" : "open relay"} (127.0.0.49:25), ${Math.round(events / runs)} events each, one worker:`);
  console.log(stats("POST → first SSE event", firstEvent));
  console.log(stats("POST → first probe event", firstProbeEvent));
  console.log(stats("POST → done", done));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
