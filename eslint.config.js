import js from "@eslint/js";
import tseslint from "typescript-eslint";

const nodeGlobals = Object.fromEntries(
  ["process", "console", "Buffer", "setTimeout", "clearTimeout", "setInterval", "clearInterval", "setImmediate", "URL", "performance"].map((name) => [name, "readonly"]),
);

export default tseslint.config(
  { ignores: ["node_modules/", ".next/", ".data/", "dist/", "lib/generated/", "next-env.d.ts", "test-results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ["**/*.mjs", "**/*.js"], languageOptions: { globals: nodeGlobals } },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  {
    // The probe engine is pure: it takes its settings as arguments and imports nothing of ours.
    files: ["lib/probe/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["@/*", "../*", "!./*"], message: "lib/probe imports nothing of the project: pass settings as arguments." },
          { group: ["next", "next/*", "react", "react/*", "@prisma/*", "bullmq", "ioredis", "pino"], message: "lib/probe is pure Node.js." },
        ],
      }],
    },
  },
);
