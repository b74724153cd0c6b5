/**
 * Runs the Prisma CLI, and only when there is work for it (each run of the CLI costs seconds).
 * Where Prisma's native schema engine is absent (it is downloaded from
 * binaries.prisma.sh, which offline machines cannot reach), points the CLI at the stand-in in
 * scripts/prisma-offline/ (Prisma's own engine compiled to WebAssembly, from npm).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, runQuietly } from "./prepare-services";

function hasNativeSchemaEngine(): boolean {
  const dir = path.join(ROOT, "node_modules", "@prisma", "engines");
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith("schema-engine-"));
}

export function prismaEnv(databaseUrl?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  if (!env.PRISMA_SCHEMA_ENGINE_BINARY && !hasNativeSchemaEngine()) {
    env.PRISMA_SCHEMA_ENGINE_BINARY = path.join(ROOT, "scripts", "prisma-offline", "schema-engine.mjs");
    env.PRISMA_PROJECT_DIR = ROOT;
  }
  return env;
}

/** `prisma <args>`; throws with Prisma's output when it fails. */
export function runPrisma(args: string[], databaseUrl?: string): void {
  const result = spawnSync(path.join(ROOT, "node_modules", ".bin", "prisma"), args, {
    cwd: ROOT,
    env: prismaEnv(databaseUrl),
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`prisma ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  }
}

/** `runPrisma` without blocking the event loop (other work goes on meanwhile); `signal` kills it. */
export async function runPrismaAsync(args: string[], options: { databaseUrl?: string; signal?: AbortSignal } = {}): Promise<void> {
  const { code, output } = await runQuietly(path.join(ROOT, "node_modules", ".bin", "prisma"), args, { cwd: ROOT, env: prismaEnv(options.databaseUrl), signal: options.signal });
  if (code !== 0) throw new Error(`prisma ${args.join(" ")} failed:\n${output}`);
}

/**
 * Is the generated client (lib/generated, git-ignored) there and newer than the schema and the
 * installed Prisma client package (an upgrade)? A few stat calls; `prisma generate` takes seconds.
 */
export function prismaClientIsCurrent(): boolean {
  const client = path.join(ROOT, "lib", "generated", "prisma", "client.ts");
  if (!fs.existsSync(client)) return false;
  const generatedAt = fs.statSync(client).mtimeMs;
  const inputs = [path.join(ROOT, "prisma", "schema.prisma"), path.join(ROOT, "node_modules", "@prisma", "client", "package.json")];
  return inputs.every((f) => !fs.existsSync(f) || fs.statSync(f).mtimeMs <= generatedAt);
}

/** Generates the client when it is not current; returns whether it did. */
export function generatePrismaClient(): boolean {
  if (prismaClientIsCurrent()) return false;
  runPrisma(["generate"]);
  return true;
}

export function migrateDeploy(databaseUrl: string): void {
  runPrisma(["migrate", "deploy"], databaseUrl);
}

const MIGRATIONS_DIR = path.join(ROOT, "prisma", "migrations");

/** The names of the committed migrations (prisma/migrations/<name>/migration.sql), in order. */
export function committedMigrations(): string[] {
  return fs
    .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(MIGRATIONS_DIR, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort();
}

/**
 * The committed migrations that the database has not applied: the folder names under
 * prisma/migrations compared with the finished, not rolled back rows of Prisma's own
 * `_prisma_migrations` table (the same bookkeeping `migrate deploy` reads). A migration that
 * started and failed counts as pending, so `migrate deploy` runs and reports it. One connection
 * and two queries, where the Prisma CLI needs ~5 s to find that there is nothing to do.
 */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const committed = committedMigrations();
  const { default: pg } = await import("pg");
  const schema = new URL(databaseUrl).searchParams.get("schema") ?? "public";
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const table = await client.query<{ t: string | null }>("SELECT to_regclass(format('%I._prisma_migrations', $1::text))::text AS t", [schema]);
    const name = table.rows[0]?.t;
    if (!name) return committed;
    const applied = await client.query<{ migration_name: string; failed: boolean }>(
      `SELECT migration_name, finished_at IS NULL AS failed FROM ${name} WHERE rolled_back_at IS NULL`,
    );
    if (applied.rows.some((r) => r.failed)) return committed;
    const done = new Set(applied.rows.map((r) => r.migration_name));
    return committed.filter((m) => !done.has(m));
  } finally {
    await client.end();
  }
}

// `tsx scripts/run-prisma.ts <args>`: the Prisma CLI with the offline engine where needed.
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = spawnSync(path.join(ROOT, "node_modules", ".bin", "prisma"), process.argv.slice(2), {
    cwd: ROOT,
    env: prismaEnv(),
    stdio: "inherit",
  });
  process.exit(result.status ?? 1);
}
