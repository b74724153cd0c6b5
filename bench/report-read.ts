/**
 * Reading a finished report: the requests/s ceiling and p50/p99 latency of GET
 * /api/v1/checks/<id> (JSON) and of the report page /checks/<id> (HTML), and the page's size,
 * for this checkout and, side by side, for another built checkout (`--base`, e.g. a work tree of
 * main before the report cache). Both web servers run on the same database, Redis and check:
 * one finished one-server check of a closed Postfix (a closed fake SMTP server on 127.0.0.120
 * when Postfix is not installed). Loopback only; run by hand, not by tests:
 *
 *   git worktree add /work/base <commit> && (cd /work/base && npm ci && npm run build)
 *   npx tsx bench/report-read.ts --base /work/base [--seconds 10] [--connections 32] [--save dir]
 *
 * The load generator is Debian's `wrk` (one thread, keep-alive connections, every request from
 * one client address, so the per-client request limit is consumed on each request like in
 * production; the limit itself is set high enough not to refuse). Each figure is taken after a
 * short warm-up. On a shared machine read the ratios, not the absolute numbers.
 *
 * Prepares what it needs like `npm test` (PostgreSQL and Redis found or started, a migrated
 * database of its own, this checkout's build).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import { prepareBench } from "./prepare-bench";
import { startService, type RunningService } from "@/tests/support/service";
import { startDnsServer } from "@/tests/support/dns-server";
import { postfixAvailable, startPostfix } from "@/tests/support/postfix";
import { startClosed } from "@/tests/fakes/presets";

const WRK = "/usr/bin/wrk";
const CLIENT = "203.0.113.7";
const FAKE_ADDRESS = "127.0.0.120";
const CHECK_TIMEOUT_MS = 60_000;
const WEB_START_TIMEOUT_MS = 60_000;
const WARM_UP_SECONDS = 2;
/** A browser's document request (the page then carries the report in its HTML only). */
const DOCUMENT = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

const { values } = parseArgs({
  options: {
    base: { type: "string" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    // A folder to keep each checkout's page HTML in (to look at what it sends).
    save: { type: "string" },
  },
});
const seconds = Math.min(120, Math.max(1, Number(values.seconds)));
const connections = Math.min(512, Math.max(1, Number(values.connections)));

interface Figures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

/** wrk's latency figures ("812.00us", "12.34ms", "1.20s") in milliseconds. */
function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) throw new Error(`wrk printed a latency I cannot read: ${text}`);
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}

function runWrk(url: string, durationSeconds: number, headers: Record<string, string> = {}): Figures {
  const args = ["-t1", `-c${connections}`, `-d${durationSeconds}s`, "--timeout", "10s", "--latency", "-H", `x-forwarded-for: ${CLIENT}`];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  const r = spawnSync(WRK, [...args, url], { encoding: "utf8", timeout: (durationSeconds + 30) * 1000 });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.error?.message}`);
  const out = r.stdout;
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /\s50%\s+(\S+)/.exec(out);
  const p99 = /\s99%\s+(\S+)/.exec(out);
  if (!rps || !p50 || !p99) throw new Error(`wrk printed something I cannot read:\n${out}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = errs ? errs.slice(1).reduce((n, x) => n + Number(x), 0) : 0;
  return { rps: Number(rps[1]), p50Ms: toMs(p50[1]!), p99Ms: toMs(p99[1]!), non2xx, errors };
}

function measure(url: string, headers: Record<string, string> = {}): Figures {
  runWrk(url, WARM_UP_SECONDS, headers);
  return runWrk(url, seconds, headers);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The other checkout's web server, on this service's database and Redis. */
async function startBaseWeb(dir: string, service: RunningService): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
  if (!fs.existsSync(path.join(dir, ".next", "BUILD_ID"))) throw new Error(`${dir} is not built: run \`npm run build\` there first`);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { NODE_ENV: "production", PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...service.env, PORT: String(port) };
  const child: ChildProcess = spawn(process.execPath, [path.join(dir, "scripts", "serve-web.mjs"), dir], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the base web server did not start in ${WEB_START_TIMEOUT_MS} ms:\n${output}`)), WEB_START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on http:\/\//.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the base web server exited (${code}):\n${output}`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

async function finishedCheck(service: RunningService, target: string): Promise<string> {
  const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": CLIENT },
    body: JSON.stringify({ target }),
    signal: AbortSignal.timeout(10_000),
  });
  const { id } = (await res.json()) as { id: string };
  const deadline = Date.now() + CHECK_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const view = (await (await fetch(`${service.baseUrl}/api/v1/checks/${id}`, { headers: { "x-forwarded-for": CLIENT }, signal: AbortSignal.timeout(10_000) })).json()) as { status: string };
    if (view.status === "done" || view.status === "failed") {
      if (view.status !== "done") throw new Error(`the check ended ${view.status}`);
      return id;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the check did not finish in ${CHECK_TIMEOUT_MS} ms`);
}

interface Row {
  label: string;
  jsonBytes: number;
  pageBytes: number;
  json: Figures;
  json304: Figures | null;
  page: Figures;
}

async function measureWeb(label: string, baseUrl: string, id: string): Promise<Row> {
  const jsonUrl = `${baseUrl}/api/v1/checks/${id}`;
  const pageUrl = `${baseUrl}/checks/${id}`;
  const first = await fetch(jsonUrl, { headers: { "x-forwarded-for": CLIENT } });
  const jsonBytes = (await first.arrayBuffer()).byteLength;
  const etag = first.headers.get("etag");
  const page = await fetch(pageUrl, { headers: { "x-forwarded-for": CLIENT, ...DOCUMENT } });
  if (page.status !== 200) throw new Error(`${label}: the page answered ${page.status}`);
  const html = Buffer.from(await page.arrayBuffer());
  const pageBytes = html.byteLength;
  if (values.save) {
    fs.mkdirSync(values.save, { recursive: true });
    fs.writeFileSync(path.join(values.save, `${label.replace(/\W+/g, "-")}.html`), html);
  }
  process.stderr.write(`${label}: JSON GET…\n`);
  const json = measure(jsonUrl);
  process.stderr.write(`${label}: JSON GET with If-None-Match…\n`);
  const json304 = etag ? measure(jsonUrl, { "if-none-match": etag }) : null;
  process.stderr.write(`${label}: page…\n`);
  const pageFigures = measure(pageUrl, DOCUMENT);
  return { label, jsonBytes, pageBytes, json, json304, page: pageFigures };
}

function print(rows: Row[]): void {
  const col = (s: string) => s.padStart(24);
  const line = (name: string, cell: (r: Row) => string) => console.log(name.padEnd(34) + rows.map((r) => col(cell(r))).join(""));
  const fig = (f: Figures | null) => (f ? `${f.rps.toFixed(0)} rps ${f.p50Ms.toFixed(1)}/${f.p99Ms.toFixed(1)} ms` : "—");
  const bad = (f: Figures | null) => (f ? `${f.non2xx}/${f.errors}` : "—");
  console.log(`\nreport read, ${connections} connections, ${seconds} s each (rps, then p50/p99 latency)\n`);
  line("", (r) => r.label);
  line("JSON GET", (r) => fig(r.json));
  line("JSON GET, If-None-Match (304)", (r) => fig(r.json304));
  line("page GET", (r) => fig(r.page));
  line("JSON body bytes", (r) => String(r.jsonBytes));
  line("page HTML bytes", (r) => String(r.pageBytes));
  line("non-2xx / socket errors (JSON)", (r) => bad(r.json));
  line("non-2xx / socket errors (page)", (r) => bad(r.page));
  if (rows.length === 2) {
    const [a, b] = rows as [Row, Row];
    console.log(`\nratio (${b.label} / ${a.label}): JSON ${(b.json.rps / a.json.rps).toFixed(1)}×, page ${(b.page.rps / a.page.rps).toFixed(1)}×, page size ${(b.pageBytes / a.pageBytes).toFixed(2)}×`);
  }
  const loads = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(`load average at the end: ${loads}`);
}

async function main(): Promise<void> {
  if (!fs.existsSync(WRK)) throw new Error("wrk is not installed: apt-get install -y wrk");
  const services = await prepareBench("relaycheck_bench_report_read");

  const stops: (() => Promise<void>)[] = [];
  try {
    const usePostfix = postfixAvailable().ok;
    const mta = usePostfix ? await startPostfix({ preset: "closed" }) : await startClosed({ host: FAKE_ADDRESS, port: 25 });
    stops.push(() => mta.close());
    const dns = await startDnsServer({});
    stops.push(() => dns.close());
    const service = await startService({
      databaseUrl: services.benchDatabaseUrl,
      dnsServers: [dns.address],
      env: { LOG_LEVEL: "warn", RATE_LIMIT_READS_PER_MINUTE: "1000000" },
    });
    stops.push(() => service.stop());
    const id = await finishedCheck(service, mta.host);
    process.stderr.write(`check ${id} of ${usePostfix ? "a closed Postfix" : "a closed fake server"} at ${mta.host} is done\n`);

    const rows: Row[] = [];
    if (values.base) {
      const base = await startBaseWeb(path.resolve(values.base), service);
      try {
        rows.push(await measureWeb("base", base.baseUrl, id));
      } finally {
        await base.stop();
      }
    }
    rows.push(await measureWeb("this checkout", service.baseUrl, id));
    print(rows);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await services.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
