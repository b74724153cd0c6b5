/**
 * Compiles the CLI to JavaScript, so that it starts without tsx (~0.4 s saved on every run), and
 * lays it out as a package of its own in dist/cli/:
 *
 *   relaycheck.mjs  the launcher: turns on Node's compile cache (module.enableCompileCache: the
 *                   bundle's bytecode is kept on disk, so later starts skip compiling it), then
 *                   imports the bundle
 *   relaycheck-main.mjs  cli/main.ts, lib/probe/ and everything they import, one ESM bundle
 *                   (esbuild, whitespace and syntax minified); Node's builtins stay imports,
 *                   nothing is left to install
 *   package.json    the CLI's own manifest: the repository's name and version, a `bin`, no
 *                   dependencies, no scripts
 *   inputs.json     the source files the bundle was built from: bin/relaycheck.mjs runs the
 *                   bundle only while none of them is newer (not part of the package)
 *
 * Why a package of its own: the repository's package.json describes the service (Next.js,
 * Prisma, BullMQ, embedded PostgreSQL, a postinstall that generates the Prisma client). Packed as
 * it is, `npx ./relaycheck-*.tgz` would download all of that and run a postinstall whose script is
 * not in the package, for a CLI that needs none of it.
 *
 *   npm run build:cli                  → dist/cli/
 *   npm run pack:cli                   → relaycheck-<version>.tgz (npm pack of dist/cli)
 */
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { checkShippedBlocklists } from "../lib/probe/blocklist-file";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const CLI_DIST = path.join(ROOT, "dist", "cli");
/** The Node.js versions the bundle's syntax targets (package.json `engines`). */
const NODE_TARGET = "node22";
const TOO_HEAVY_FOR_THE_CLI = ["zod", "@prisma", "bullmq", "ioredis", "next", "pino"];
/** The bundle's entry: runs the CLI (given to esbuild as text, so it is no file of the tree). */
const ENTRY_NAME = "relaycheck-entry.ts";

interface RootManifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  engines?: Record<string, string>;
}

/** The launcher: plain JavaScript, no imports but Node's. */
const LAUNCHER = `#!/usr/bin/env node
// relaycheck's command line. Node's compile cache keeps the bundle's compiled code on disk
// (in the system's temporary directory), so every start after the first skips compiling it.
import module from "node:module";
try {
  module.enableCompileCache?.();
} catch {
  // No cache (a read-only temporary directory): the CLI only starts a little slower.
}
await import("./relaycheck-main.mjs");
`;

/** Builds dist/cli/ (or `outDir`); returns the launcher's path. */
export async function buildCli(outDir = CLI_DIST): Promise<string> {
  const launcher = path.join(outDir, "relaycheck.mjs");
  const outfile = path.join(outDir, "relaycheck-main.mjs");
  // The bundle reads the blocklist data file without checking it (no zod at run time): check it here.
  checkShippedBlocklists();
  const result = await build({
    stdin: {
      contents: 'import { main } from "./cli/main.ts";\nprocess.exitCode = await main(process.argv.slice(2));\n',
      resolveDir: ROOT,
      sourcefile: ENTRY_NAME,
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: NODE_TARGET,
    outfile,
    // Less to read and decode at every start; identifiers are kept, so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    tsconfig: path.join(ROOT, "tsconfig.json"),
    metafile: true,
    logLevel: "warning",
    write: false,
  });

  const inputs = Object.keys(result.metafile.inputs).filter((p) => p !== ENTRY_NAME);
  // Packages the CLI must not load at start: zod alone was 580 of the bundle's 910 KB and most
  // of its start-up time (schemas are built when their module loads). The CLI validates its
  // input by hand; the data files it reads are checked above.
  const heavy = inputs.filter((p) => TOO_HEAVY_FOR_THE_CLI.some((pkg) => p.startsWith(`node_modules/${pkg}/`)));
  if (heavy.length) throw new Error(`the CLI bundle pulls in ${heavy[0]}: import it from a module the CLI does not load`);
  // A dependency the bundle could not inline would need an install: the package has none.
  const external = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external && !i.path.startsWith("node:")));
  if (external.length) throw new Error(`the CLI bundle imports packages it does not contain: ${external.map((i) => i.path).join(", ")}`);

  const root = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as RootManifest;
  const manifest = {
    name: root.name,
    version: root.version,
    // Packed, not published, like the repository (npm pack works with private packages).
    private: root.private,
    description: "Checks whether an SMTP server is an open relay, from a shell (the relaycheck command line).",
    license: root.license,
    type: "module",
    engines: root.engines,
    bin: { relaycheck: "relaycheck.mjs" },
    files: ["relaycheck.mjs", "relaycheck-main.mjs"],
  };
  fs.mkdirSync(outDir, { recursive: true });
  writeAtomically(path.join(outDir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeAtomically(path.join(outDir, "inputs.json"), `${JSON.stringify(inputs.filter((p) => !p.startsWith("node_modules/")))}\n`);
  const [bundle] = result.outputFiles;
  if (!bundle) throw new Error("esbuild wrote no bundle");
  writeAtomically(outfile, bundle.contents);
  writeAtomically(launcher, LAUNCHER, 0o755);
  return launcher;
}

/** Whole or not at all: a `relaycheck` started during a rebuild runs the old bundle or the new one. */
function writeAtomically(file: string, contents: string | Uint8Array, mode = 0o644): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, contents, { mode });
  fs.renameSync(temporary, file);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const launcher = await buildCli();
  const bundle = path.join(path.dirname(launcher), "relaycheck-main.mjs");
  console.log(`built ${path.relative(ROOT, launcher)} (bundle ${path.relative(ROOT, bundle)}: ${Math.round(fs.statSync(bundle).size / 1024)} KB)`);
}
