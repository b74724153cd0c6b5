#!/usr/bin/env node
// Runs the TypeScript CLI from a checkout (npm install, then `npx relaycheck <target>`).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
