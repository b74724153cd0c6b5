/**
 * The worker's own costs (issue 10), on the real PostgreSQL and Redis, with the run-check job
 * handler driven in this process and the fake SMTP servers and DNS in a child process (so that
 * their CPU is not counted as the worker's):
 * - throughput: one-server checks of a fast closed server, per minute, at concurrency 4 and 16,
 *   and the worker's CPU per check (user + system time of this process / checks);
 * - store lag: from the engine's last event to the `done` stored, for 1, 3 and 10 MX hosts;
 * - storage: bytes of database per one-server check (the tables' total size, indexes and TOAST
 *   included, before and after; and the rows' own sizes).
 * Prints figures; not run by tests. The worker process as a whole (BullMQ, server slots, logs),
 * and an older checkout's figures next to this one's: bench/worker-side-by-side.ts.
 *
 *   npx tsx bench/worker-throughput.ts [--checks 300] [--lag-runs 10]
 *
 * Prepares what it needs like `npm test` (PostgreSQL and Redis found or started, a migrated
 * database). Servers on 127.0.0.170–179 port 25.
 */
import { parseArgs } from "node:util";
import type { Job } from "bullmq";
import { FAKE_HOSTS as HOSTS, startFakeMailServers } from "./fake-mail-servers";

const { values } = parseArgs({
  options: {
    checks: { type: "string", default: "300" },
    "lag-runs": { type: "string", default: "10" },
  },
});

const MX_COUNTS = [1, 3, 10];
const TABLES = ["checks", "check_servers", "check_cases", "check_events"];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const checks = Number(values.checks);
  const lagRuns = Number(values["lag-runs"]);
  const { prepareServices, ensureDatabase } = await import("@/scripts/prepare-services");
  const { migrateDeploy } = await import("@/scripts/run-prisma");
  const services0 = await prepareServices({ quiet: true });
  const url = new URL(services0.databaseUrl);
  url.pathname = `/relaycheck_bench_worker_${process.pid}`;
  await ensureDatabase(url.toString(), { recreate: true });
  migrateDeploy(url.toString());
  process.env.RELAYCHECK_TEST_DATABASE_URL = url.toString();
  process.env.RELAYCHECK_TEST_REDIS_URL = services0.redisUrl;

  const { startInProcessServices } = await import("@/tests/support/service");
  const { createCheck } = await import("@/lib/checks/create-check");
  const { newCheckId } = await import("@/lib/checks/check-id");
  const { REPORT_SCHEMA_VERSION } = await import("@/lib/probe/types");
  const { createRunCheckHandler } = await import("@/worker/run-check");
  const fakes = await startFakeMailServers({
    mx: Object.fromEntries(MX_COUNTS.map((n) => [`mx${n}.bench.test`, HOSTS.slice(0, n).map((h, i) => ({ exchange: h.name, priority: 10 + i }))])),
  });
  const many = "1000000";
  const ctx = await startInProcessServices({
    RELAYCHECK_DNS_SERVERS: fakes.dns,
    CHECK_REUSE_WINDOW_SECONDS: "0",
    RATE_LIMIT_CLIENT_POINTS: many,
    RATE_LIMIT_TARGET_POINTS: many,
    RATE_LIMIT_SERVER_POINTS: many,
    RELAYCHECK_ALLOW_RESERVED_NAMES: "true",
  });
  const { services } = ctx;
  // Through the service's createCheck for the first (its `queued` event and job), then as rows
  // like it (createCheck supersedes a queued check of the same target: here none may be lost).
  await createCheck({ target: HOSTS[0]!.ip }, { clientIp: "198.51.100.1" }, services);
  const newCheck = async (target: string) => {
    const id = newCheckId();
    const kind = /^[\d.]+$/.test(target) ? "ipv4" : "domain";
    await services.db.check.create({
      data: { id, target, targetKind: kind, input: target, ports: [25], schemaVersion: REPORT_SCHEMA_VERSION, deadlineAt: new Date(Date.now() + 600_000) },
    });
    return id;
  };
  let lastDoneAt = 0;
  const handler = createRunCheckHandler({
    services,
    probe: { base: { dnsServers: [fakes.dns] }, checkTimeoutMs: 60_000 },
    shutdownSignal: new AbortController().signal,
    onProbeEvent: (e) => {
      if (e.type === "done") lastDoneAt = performance.now();
    },
  });
  const failures: string[] = [];
  // A run that throws (e.g. a transaction past its timeout under load) is counted, not fatal.
  const run = (id: string) =>
    handler({ id, name: "run-check", data: { checkId: id }, attemptsMade: 0 } as unknown as Job).catch((e: unknown) => {
      failures.push(e instanceof Error ? e.message.split("\n").filter(Boolean).at(-1)! : String(e));
    });
  const sizes = async () => {
    const { rows } = await services.db.$queryRawUnsafe<{ t: string; bytes: bigint }[]>(
      TABLES.map((t) => `SELECT '${t}' AS t, pg_total_relation_size('${t}') AS bytes`).join(" UNION ALL "),
    ).then((rows) => ({ rows }));
    return Object.fromEntries(rows.map((r) => [r.t, Number(r.bytes)]));
  };
  const rowBytes = async (ids: string[]) => {
    const out: Record<string, { rows: number; bytes: number }> = {};
    for (const t of TABLES) {
      const key = t === "checks" ? "id" : "check_id";
      const [r] = await services.db.$queryRawUnsafe<{ n: bigint; bytes: bigint | null }[]>(`SELECT count(*) AS n, sum(pg_column_size(x.*)) AS bytes FROM ${t} x WHERE ${key} = ANY($1)`, ids);
      out[t] = { rows: Number(r!.n) / ids.length, bytes: Number(r!.bytes ?? 0) / ids.length };
    }
    return out;
  };

  try {
    // Warm-up: connections, JIT.
    for (let i = 0; i < 10; i++) await run(await newCheck(HOSTS[0]!.ip));

    console.log(`worker throughput, one-server checks of a closed server (${HOSTS[0]!.ip}:25), ${checks} checks each:`);
    for (const concurrency of [4, 16]) {
      const ids: string[] = [];
      for (let i = 0; i < checks; i++) ids.push(await newCheck(HOSTS[0]!.ip));
      const before = await sizes();
      const queue = [...ids];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let id = queue.shift(); id; id = queue.shift()) await run(id);
        }),
      );
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const done = await services.db.check.count({ where: { id: { in: ids }, status: "done" } });
      console.log(
        `  concurrency ${String(concurrency).padStart(2)}: ${((checks / ms) * 60_000).toFixed(0).padStart(6)} checks/min   worker CPU ${((cpu.user + cpu.system) / 1000 / checks).toFixed(1).padStart(5)} ms/check   (${done}/${checks} done, ${failures.splice(0).length} runs threw)`,
      );
      if (concurrency === 4) {
        const after = await sizes();
        const total = TABLES.reduce((s, t) => s + after[t]! - before[t]!, 0);
        const perRow = await rowBytes(ids);
        console.log(`  storage per one-server check: ${(total / checks / 1024).toFixed(1)} KB of tables (indexes, TOAST, dead rows included)`);
        for (const t of TABLES) {
          console.log(
            `    ${t.padEnd(14)} ${((after[t]! - before[t]!) / checks / 1024).toFixed(1).padStart(6)} KB   rows ${perRow[t]!.rows.toFixed(1).padStart(5)}   row data ${(perRow[t]!.bytes / 1024).toFixed(1).padStart(5)} KB`,
          );
        }
      }
    }

    console.log(`store lag, the engine's last event → done stored (${lagRuns} checks each, one at a time):`);
    for (const n of MX_COUNTS) {
      const lags: number[] = [];
      for (let i = 0; i < lagRuns; i++) {
        const id = await newCheck(`mx${n}.bench.test`);
        await run(id);
        lags.push(performance.now() - lastDoneAt);
      }
      console.log(`  ${String(n).padStart(2)} MX hosts: median ${median(lags).toFixed(1).padStart(7)} ms   max ${Math.max(...lags).toFixed(1).padStart(7)} ms`);
    }
  } finally {
    await ctx.close();
    fakes.stop();
    const { default: pg } = await import("pg");
    const admin = new pg.Client({ connectionString: services0.databaseUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`).finally(() => admin.end());
    await services0.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
