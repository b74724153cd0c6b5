/**
 * How long the CLI takes from `exec` to exit: `--help`, and a whole check of a closed Postfix
 * (real, on loopback, found through a local DNS server), run the old way (TypeScript through
 * tsx, what bin/relaycheck.mjs did before the build) and compiled (dist/cli/relaycheck.mjs), with
 * `node -e 0` as the floor. Builds the CLI first. Run by hand, as root (Postfix):
 *
 *   npx tsx bench/cli-startup.ts [--runs 15] [--base <checkout>]
 *
 * `--base` adds that checkout's own bin/relaycheck.mjs (e.g. a work tree of 6aaac32, the CLI as
 * issue 10 found it: TypeScript through tsx; its npm ci done) to the runs.
 *
 * Prints the median and p90 wall time of each; the runs of the variants are interleaved so that
 * load on the machine weighs on all of them alike.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { buildCli, ROOT } from "@/scripts/build-cli";
import { startDnsServer } from "@/tests/support/dns-server";
import { postfixAvailable, startPostfix } from "@/tests/support/postfix";

const { values } = parseArgs({ options: { runs: { type: "string", default: "15" }, base: { type: "string" } } });
const runs = Number(values.runs);
// --base <checkout>: that checkout's own bin/relaycheck.mjs beside (e.g. a work tree of 6aaac32,
// the CLI as issue 10 found it, with its npm ci done).
const baseBin = values.base ? path.join(path.resolve(values.base), "bin", "relaycheck.mjs") : null;

const available = postfixAvailable();
if (!available.ok) throw new Error(`this benchmark needs a real Postfix: ${available.reason}`);

const built = await buildCli();
// The old bin/relaycheck.mjs, verbatim but for its paths.
const tmp = mkdtempSync(path.join(os.tmpdir(), "relaycheck-bench-cli-"));
const tsxEntry = path.join(tmp, "relaycheck-tsx.mjs");
writeFileSync(
  tsxEntry,
  [
    `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};`,
    "register();",
    `const { main } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, "cli", "main.ts")).href)});`,
    "process.exitCode = await main(process.argv.slice(2));",
  ].join("\n"),
);

const postfix = await startPostfix({ preset: "closed" });
const dns = await startDnsServer({
  mx: { "closed.test": [{ exchange: "mx.closed.test", priority: 10 }] },
  a: { "mx.closed.test": [postfix.host] },
  ptr: { [postfix.host]: ["mx.closed.test"] },
});
const checkArgs = ["closed.test", "--allow-reserved-names", "--allow", "127.0.0.0/8", "--dns", dns.address, "--quiet"];

/** Wall time of one run, in ms; fails on an unexpected exit code. */
function timeRun(args: string[], expectedCode: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      const ms = performance.now() - started;
      if (code === expectedCode) resolve(ms);
      else reject(new Error(`node ${args.join(" ")} exited ${code}, expected ${expectedCode}\n${stderr}`));
    });
  });
}

const variants: { name: string; args: string[]; expectedCode: number }[] = [
  { name: "node -e 0 (the floor)", args: ["-e", "0"], expectedCode: 0 },
  { name: "--help, tsx, this checkout", args: [tsxEntry, "--help"], expectedCode: 0 },
  { name: "--help, built", args: [built, "--help"], expectedCode: 0 },
  { name: "--help, bin/relaycheck.mjs", args: [path.join(ROOT, "bin", "relaycheck.mjs"), "--help"], expectedCode: 0 },
  { name: "closed Postfix, tsx, this checkout", args: [tsxEntry, ...checkArgs], expectedCode: 0 },
  { name: "closed Postfix, built", args: [built, ...checkArgs], expectedCode: 0 },
  { name: "closed Postfix, bin/relaycheck.mjs", args: [path.join(ROOT, "bin", "relaycheck.mjs"), ...checkArgs], expectedCode: 0 },
  ...(baseBin
    ? [
        { name: "--help, base checkout", args: [baseBin, "--help"], expectedCode: 0 },
        { name: "closed Postfix, base checkout", args: [baseBin, ...checkArgs], expectedCode: 0 },
      ]
    : []),
];

try {
  const samples = variants.map(() => [] as number[]);
  // One warm-up round (file cache), not counted.
  for (const v of variants) await timeRun(v.args, v.expectedCode);
  for (let i = 0; i < runs; i++) {
    for (const [n, v] of variants.entries()) samples[n]!.push(await timeRun(v.args, v.expectedCode));
  }
  const q = (s: number[], p: number) => [...s].sort((a, b) => a - b)[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(2)}, ${runs} runs each`);
  for (const [n, v] of variants.entries()) {
    console.log(`${v.name.padEnd(36)} median ${q(samples[n]!, 0.5).toFixed(0).padStart(5)} ms   p90 ${q(samples[n]!, 0.9).toFixed(0).padStart(5)} ms`);
  }
} finally {
  await Promise.all([postfix.close(), dns.close()]);
  rmSync(tmp, { recursive: true, force: true });
}
