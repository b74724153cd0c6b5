#!/usr/bin/env node
/**
 * The relaycheck command in a checkout (`npx relaycheck <target>`, `npm run relaycheck`).
 * Runs the compiled CLI, dist/cli/relaycheck.mjs (`npm run build:cli`), while no source it was
 * built from is newer than it; else the TypeScript sources through tsx, so a checkout without a
 * build, or with edits since, keeps working. tsx is imported only on that path: it costs ~0.4 s
 * of start-up. (The packed CLI, `npm run pack:cli`, runs dist/cli/relaycheck.mjs directly.)
 */
import fs from "node:fs";

const built = new URL("../dist/cli/relaycheck.mjs", import.meta.url);

if (builtIsCurrent()) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("../cli/main.ts");
  process.exitCode = await main(process.argv.slice(2));
}

/** The bundle exists and none of its inputs (dist/cli/inputs.json) is newer or gone. */
function builtIsCurrent() {
  try {
    const builtAt = fs.statSync(built).mtimeMs;
    const inputs = JSON.parse(fs.readFileSync(new URL("../dist/cli/inputs.json", import.meta.url), "utf8"));
    const root = new URL("../", import.meta.url);
    return inputs.every((input) => fs.statSync(new URL(input, root)).mtimeMs <= builtAt);
  } catch {
    return false;
  }
}
