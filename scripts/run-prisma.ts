/**
 * Runs the Prisma CLI. Where Prisma's native schema engine is absent (it is downloaded from
 * binaries.prisma.sh, which offline machines cannot reach), points the CLI at the stand-in in
 * scripts/prisma-offline/ (Prisma's own engine compiled to WebAssembly, from npm).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./prepare-services";

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

/** The generated client lives in lib/generated (git-ignored): generate it when it is missing or stale. */
export function generatePrismaClient(): void {
  const schema = path.join(ROOT, "prisma", "schema.prisma");
  const client = path.join(ROOT, "lib", "generated", "prisma", "client.ts");
  if (fs.existsSync(client) && fs.statSync(client).mtimeMs >= fs.statSync(schema).mtimeMs) return;
  runPrisma(["generate"]);
}

export function migrateDeploy(databaseUrl: string): void {
  runPrisma(["migrate", "deploy"], databaseUrl);
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
