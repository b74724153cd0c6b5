/**
 * The CLI as a user gets it: `npm run pack:cli` (esbuild bundle + npm pack of dist/cli), the
 * tarball installed offline into an empty directory outside the repository, its `relaycheck`
 * command run against fake SMTP servers found through a local DNS server. Proves the package
 * holds all it needs (nothing of the repository's node_modules is reachable from there) and
 * installs nothing else.
 */
import { execFile, type ExecFileException } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClosed, startOpenRelay } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const run = promisify(execFile);
/** Packing runs npm twice, tsx and esbuild; on a loaded 2-core machine that takes a while. */
const PACK_TIMEOUT_MS = 180_000;
/** The CLI's Node.js first on PATH: the installed command starts with `#!/usr/bin/env node`. */
const PATH_WITH_NODE = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`;

describe("packed CLI (npm run pack:cli, installed from the tarball)", () => {
  let tmp: string;
  let tarball: string;
  let command: string;
  let closed: FakeServer;
  let open: FakeServer;
  let dns: LocalDnsServer;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "relaycheck-packed-cli-"));
    const npmEnv = { ...process.env, PATH: PATH_WITH_NODE, npm_config_cache: path.join(tmp, "npm-cache"), npm_config_update_notifier: "false" };
    await run("npm", ["run", "--silent", "pack:cli", "--", "--pack-destination", tmp], { cwd: ROOT, env: npmEnv });
    const tarballs = (await readdir(tmp)).filter((f) => /^relaycheck-.*\.tgz$/.test(f));
    expect(tarballs).toHaveLength(1);
    tarball = path.join(tmp, tarballs[0]!);

    const app = path.join(tmp, "app");
    await mkdir(app);
    await writeFile(path.join(app, "package.json"), '{ "name": "someone-elses-project", "private": true }\n');
    // --offline: a dependency to fetch would fail the install (the package must have none).
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--omit=dev", "--engine-strict=false", tarball], { cwd: app, env: npmEnv });
    command = path.join(app, "node_modules", ".bin", "relaycheck");

    [closed, open] = await Promise.all([startClosed(), startOpenRelay()]);
    dns = await startDnsServer({
      mx: { "closed.test": [{ exchange: "mx.closed.test", priority: 10 }] },
      a: { "mx.closed.test": [closed.host] },
    });
  }, PACK_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([closed?.close(), open?.close(), dns?.close()]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** Runs the installed command from outside the repository; exit code and output. */
  async function relaycheck(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(command, args, { cwd: tmp, env: { NODE_ENV: "production", PATH: PATH_WITH_NODE, HOME: tmp } });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as ExecFileException & { stdout: string; stderr: string };
      if (typeof err.code !== "number") throw e;
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }

  it("holds the bundle and its manifest only, and installs no dependency", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    expect(stdout.trim().split("\n").sort()).toEqual(["package/package.json", "package/relaycheck-main.mjs", "package/relaycheck.mjs"]);
    const installed = (await readdir(path.join(tmp, "app", "node_modules"))).filter((d) => !d.startsWith("."));
    expect(installed).toEqual(["relaycheck"]);
  });

  it("--help prints the usage and exits 0", async () => {
    const { code, stdout } = await relaycheck("--help");
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: relaycheck [options] <target>");
  });

  it("a closed server found by its MX → not an open relay, exit 0", async () => {
    const { code, stdout } = await relaycheck("closed.test", "--allow-reserved-names", "--allow", "127.0.0.0/8", "--dns", dns.address, "--port", String(closed.port), "--json");
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ verdict: "not-open-relay", servers: [{ host: "mx.closed.test", ip: closed.host, port: closed.port, verdict: "not-open-relay" }] });
    expect(code).toBe(0);
    expect(closed.log.dataAttempts).toBe(0);
  });

  it("an open relay → open relay, exit 2, human output", async () => {
    const { code, stdout } = await relaycheck(open.host, "--allow", "127.0.0.0/8", "--dns", dns.address, "--port", String(open.port));
    expect(stdout).toMatch(/OPEN RELAY/);
    expect(code).toBe(2);
    expect(open.log.dataAttempts).toBe(0);
  });
});
