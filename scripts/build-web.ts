/**
 * Builds the Next.js app when there is no build, or when a source is newer than it (a walk of
 * the source folders' mtimes: ~30 ms; `next build` takes a minute on a loaded machine).
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, say } from "./prepare-services";

// The schema too: lib/generated (skipped below) is regenerated from it, and the build bundles it.
const SOURCES = ["app", "components", "lib", "prisma/schema.prisma", "proxy.ts", "instrumentation.ts", "next.config.ts", "postcss.config.mjs", "package.json"];

function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const stat = fs.statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(p)) {
    if (entry === "generated" || entry === "node_modules" || entry.endsWith(".test.ts")) continue;
    newest = Math.max(newest, newestMtime(path.join(p, entry)));
  }
  return newest;
}

export function buildIsCurrent(): boolean {
  const buildId = path.join(ROOT, ".next", "BUILD_ID");
  if (!fs.existsSync(buildId)) return false;
  const built = fs.statSync(buildId).mtimeMs;
  return SOURCES.every((s) => newestMtime(path.join(ROOT, s)) <= built);
}

const NEXT_BIN = path.join(ROOT, "node_modules", ".bin", "next");
const buildEnv = (): NodeJS.ProcessEnv => ({ ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" });

export function buildWebIfNeeded(options: { force?: boolean } = {}): void {
  if (!options.force && buildIsCurrent()) return;
  say("building the web app (next build)…");
  const result = spawnSync(NEXT_BIN, ["build"], { cwd: ROOT, env: buildEnv(), stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error("next build failed");
}

/** `next build` without blocking the event loop (the databases start meanwhile); `signal` kills it. */
export function buildWeb(options: { signal?: AbortSignal } = {}): Promise<void> {
  say("building the web app (next build)…");
  return new Promise((resolve, reject) => {
    const child = spawn(NEXT_BIN, ["build"], { cwd: ROOT, env: buildEnv(), signal: options.signal, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error("next build failed"))));
  });
}
