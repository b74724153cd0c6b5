/**
 * Four test tiers (vitest projects), each runnable alone (`npm test -- --project <name>`, or the
 * `test:<name>` scripts) and all four by `npm test`:
 * - unit: tests beside the code (lib, cli, worker, components, app) that need no service;
 * - engine: the probe engine against fake SMTP servers, the local DNS server and a real Postfix;
 * - service: real PostgreSQL, Redis, worker and web app (tests/service, tests/faults), and the
 *   tests beside the modules that wrap Redis or PostgreSQL;
 * - browser: the pages in headless Chromium on the built app.
 * A tier is chosen by where a test lives, never by its name: files are not moved or renamed.
 */
import { defineConfig } from "vitest/config";
import path from "node:path";

/**
 * Tests beside the modules that wrap Redis or PostgreSQL need them, so they are service tests
 * (e.g. lib/concurrency/server-slots.test.ts). A test elsewhere in lib, cli or worker that
 * needs a service belongs in this list too.
 */
const SERVICE_BESIDE_CODE = ["lib/{db,queue,events,concurrency,rate-limit}/**/*.test.{ts,tsx}", "lib/checks/blocklist-cache.test.ts"];

const BESIDE_CODE = ["lib", "cli", "worker", "components", "app"].map((dir) => `${dir}/**/*.test.{ts,tsx}`);

export const TEST_TIERS = {
  unit: { include: BESIDE_CODE, exclude: SERVICE_BESIDE_CODE },
  engine: { include: ["tests/engine/**/*.test.ts", "tests/fakes/**/*.test.ts", "tests/support/**/*.test.ts"], exclude: [] },
  service: { include: ["tests/service/**/*.test.ts", "tests/faults/**/*.test.ts", ...SERVICE_BESIDE_CODE], exclude: [] },
  browser: { include: ["tests/browser/**/*.test.ts"], exclude: [] },
} satisfies Record<string, { include: string[]; exclude: string[] }>;

const ALWAYS_EXCLUDED = ["**/node_modules/**", ".next/**", ".data/**", "lib/generated/**"];

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: Object.entries(TEST_TIERS).map(([name, tier]) => ({
      extends: true as const,
      test: { name, include: tier.include, exclude: [...ALWAYS_EXCLUDED, ...tier.exclude] },
    })),
  },
});
