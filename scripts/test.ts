/**
 * `npm test`: every test of the repository (vitest), after preparing what they need the same way
 * `npm start` does: PostgreSQL and Redis found or started, a dedicated test database
 * (`relaycheck_test`, recreated and migrated: service tests copy it per instance), the Prisma
 * client generated and the web app built once. Arguments go to vitest (`npm test -- tests/service`,
 * `npm test -- --project service`). When only tiers that need no service are chosen
 * (`--project unit`, `--project engine`), nothing is prepared. Ends with one summary line.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { ensureDatabase, prepareServices, ROOT, say } from "./prepare-services";
import { generatePrismaClient, migrateDeploy } from "./run-prisma";
import { buildWebIfNeeded } from "./build-web";

/** Another name lets two runs share one PostgreSQL (e.g. from two work trees). */
const TEST_DATABASE = process.env.RELAYCHECK_TEST_DATABASE || "relaycheck_test";

/** Tiers (vitest projects, vitest.config.ts) that run without PostgreSQL, Redis or a build. */
const TIERS_WITHOUT_SERVICES = new Set(["unit", "engine"]);

/** The `--project` values among vitest's arguments (`--project x` or `--project=x`). */
function projectsOf(args: string[]): string[] {
  const projects: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === "--project" && args[i + 1]) projects.push(args[i + 1]!);
    else if (arg.startsWith("--project=")) projects.push(arg.slice("--project=".length));
  }
  return projects;
}

async function main(): Promise<number> {
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  process.env.CHECKPOINT_DISABLE = "1";
  const args = process.argv.slice(2);
  const projects = projectsOf(args);
  if (projects.length > 0 && projects.every((p) => TIERS_WITHOUT_SERVICES.has(p))) {
    say(`running the tests (vitest: ${projects.join(", ")}; no services needed)`);
    return runVitest(args, {});
  }

  const services = await prepareServices();
  try {
    const testUrl = new URL(services.databaseUrl);
    testUrl.pathname = `/${TEST_DATABASE}`;
    await dropLeftoverCopies(testUrl.toString());
    say(`recreating the test database ${TEST_DATABASE}`);
    await ensureDatabase(testUrl.toString(), { recreate: true });
    migrateDeploy(testUrl.toString());
    generatePrismaClient();
    buildWebIfNeeded();

    say("running the tests (vitest)");
    return await runVitest(args, { RELAYCHECK_TEST_DATABASE_URL: testUrl.toString(), RELAYCHECK_TEST_REDIS_URL: services.redisUrl });
  } finally {
    await services.stop();
  }
}

/** Runs `vitest run <args>` with `env` added; resolves with its exit code after the summary line. */
function runVitest(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve) => {
    const summaryFile = path.join(ROOT, "test-results", "vitest-summary.json");
    rmSync(summaryFile, { force: true }); // never report a previous run's figures
    const reporters = ["--reporter=default", "--reporter=json", `--outputFile.json=${summaryFile}`];
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", ...reporters, ...args], {
      cwd: ROOT,
      stdio: "inherit",
      env: { ...process.env, ...env },
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.on("exit", (code, signal) => {
      printSummary(summaryFile);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * Databases of service-test instances that a crashed run left behind: none in use, and not made
 * by a process still alive (their names start with the maker's pid: another run on the same
 * PostgreSQL, e.g. from a second work tree, may have just made one and not connected yet).
 */
async function dropLeftoverCopies(testUrl: string): Promise<void> {
  const admin = new URL(testUrl);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const rows = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database d WHERE datname LIKE 'relaycheck\\_t\\_%'
         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
    );
    for (const { datname } of rows.rows) {
      if (makerAlive(datname)) continue;
      await client.query(`DROP DATABASE IF EXISTS "${datname}"`);
    }
  } finally {
    await client.end();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);

/** One plain closing line, "N passed, N failed, N skipped", for people and CI logs. */
function printSummary(file: string): void {
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
    console.log(`\n${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  } catch {
    // No summary (vitest did not get to write it): its own output says why.
  }
}

/** Whether the process whose pid starts a copy's name (`relaycheck_t_<pid>_…`) still runs. */
function makerAlive(datname: string): boolean {
  const pid = Number(/^relaycheck_t_(\d+)_/.exec(datname)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
