import { defineConfig } from "vitest/config";
import path from "node:path";

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["lib/**/*.test.ts", "cli/**/*.test.ts", "worker/**/*.test.ts", "tests/**/*.test.ts"],
    exclude: ["node_modules", ".next", ".data"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
