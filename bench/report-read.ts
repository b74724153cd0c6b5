/**
 * Reading a finished report: the requests/s ceiling and p50/p99 latency of GET
 * /api/v1/checks/<id> (JSON) and of the report page /checks/<id> (HTML), and the page's size,
 * for this checkout and, side by side, for another built checkout (`--base`, e.g. a work tree of
 * main before the report cache). Each checkout runs its own whole service (web server and
 * worker) on a database of its own, migrated with its own migrations (storage layouts differ
 * between versions), on the same Redis under a prefix of its own; each makes its own check of
 * the same server: one finished one-server check of a closed Postfix (a closed fake SMTP server
 * on 127.0.0.120 when Postfix is not installed). The other checkout's service is started by its
 * own tests/support/service.ts. Loopback only; run by hand, not by tests:
 *
 *   git worktree add /work/base <commit> && (cd /work/base && npm ci && npm run build)
 *   npx tsx bench/report-read.ts --base /work/base [--seconds 10] [--connections 32] [--rounds 3]
 *     [--encoding identity|gzip] [--save dir]
 *
 * With `--rounds n` the checkouts are measured n times, interleaved, and the median is printed.
 * BENCH_NODE_OPTIONS is given to this checkout's processes as NODE_OPTIONS (to profile them:
 * "--cpu-prof --cpu-prof-dir=/tmp/prof").
 *
 * The load generator is Debian's `wrk` (one thread, keep-alive connections, every request from
 * one client address, so the per-client request limit is consumed on each request like in
 * production; the limit itself is set high enough not to refuse). Each figure is taken after a
 * short warm-up. On a shared machine read the ratios, not the absolute numbers.
 *
 * Prepares what it needs like `npm test` (PostgreSQL and Redis found or started, a migrated
 * database of its own and one for the base, both recreated on each run, this checkout's build).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { prepareBench } from "./prepare-bench";
import { ensureDatabase } from "@/scripts/prepare-services";
import { startService } from "@/tests/support/service";
import { startDnsServer } from "@/tests/support/dns-server";
import { postfixAvailable, startPostfix } from "@/tests/support/postfix";
import { startClosed } from "@/tests/fakes/presets";

const WRK = "/usr/bin/wrk";
const CLIENT = "203.0.113.7";
const FAKE_ADDRESS = "127.0.0.120";
const CHECK_TIMEOUT_MS = 60_000;
const WARM_UP_SECONDS = 2;
/** A browser's document request (the page then carries the report in its HTML only). */
const DOCUMENT = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
/** Both services: quiet, and a per-client request limit that never refuses the load. */
const SERVICE_ENV = { LOG_LEVEL: "warn", RATE_LIMIT_READS_PER_MINUTE: "1000000" };

const { values } = parseArgs({
  options: {
    base: { type: "string" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    // "gzip": every request says Accept-Encoding: gzip, as browsers and most HTTP clients do
    // (wrk's default, like curl's, asks for no compression).
    encoding: { type: "string", default: "identity" },
    // Measure each checkout this many times, interleaved; the median is printed.
    rounds: { type: "string", default: "1" },
    // A folder to keep each checkout's page HTML in (to look at what it sends).
    save: { type: "string" },
  },
});
const seconds = Math.min(120, Math.max(1, Number(values.seconds)));
const connections = Math.min(512, Math.max(1, Number(values.connections)));
const roundCount = Math.min(9, Math.max(1, Number(values.rounds)));
if (values.encoding !== "identity" && values.encoding !== "gzip") throw new Error("--encoding is identity or gzip");
/** Sent with every request, the load's and the first look's. */
const ENCODING: Record<string, string> = values.encoding === "gzip" ? { "accept-encoding": "gzip" } : {};

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
  for (const [k, v] of Object.entries({ ...ENCODING, ...headers })) args.push("-H", `${k}: ${v}`);
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

/** The body's bytes as sent with ENCODING (node:http does not decode it, unlike fetch). */
function sentBytes(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { "x-forwarded-for": CLIENT, ...ENCODING, ...headers }, timeout: 30_000 }, (res) => {
      let n = 0;
      res.on("data", (chunk: Buffer) => (n += chunk.length));
      res.on("end", () => resolve(n));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`${url} did not answer`)));
  });
}

function measure(url: string, headers: Record<string, string> = {}): Figures {
  runWrk(url, WARM_UP_SECONDS, headers);
  return runWrk(url, seconds, headers);
}


/** What this benchmark uses of the other checkout's tests/support/service.ts. */
interface OtherService {
  baseUrl: string;
  stop(): Promise<void>;
}
type StartOtherService = (options: { databaseUrl: string; dnsServers: string[]; env: Record<string, string> }) => Promise<OtherService>;

/**
 * The other checkout's whole service, on a database of its own migrated with its own
 * migrations (it cannot read this checkout's storage layout): its own web server and worker,
 * started by its own tests/support/service.ts, on the same Redis under a prefix of their own.
 */
async function startBaseService(dir: string, databaseUrl: string, dnsServers: string[]): Promise<OtherService> {
  if (!fs.existsSync(path.join(dir, ".next", "BUILD_ID"))) throw new Error(`${dir} is not built: run \`npm run build\` there first`);
  await ensureDatabase(databaseUrl, { recreate: true });
  const migrate = spawnSync(process.execPath, ["--import", "tsx", path.join(dir, "scripts", "run-prisma.ts"), "migrate", "deploy"], {
    cwd: dir,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`the base's prisma migrate deploy failed:\n${migrate.stdout}\n${migrate.stderr}`);
  const { startService: startOther } = (await import(pathToFileURL(path.join(dir, "tests", "support", "service.ts")).href)) as { startService: StartOtherService };
  return startOther({ databaseUrl, dnsServers, env: SERVICE_ENV });
}

async function finishedCheck(service: { baseUrl: string }, target: string): Promise<string> {
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
  /** Bytes on the wire with --encoding (compressed or not). */
  jsonSent: number;
  pageSent: number;
  json: Figures;
  json304: Figures | null;
  page: Figures;
}

async function measureWeb(label: string, baseUrl: string, id: string): Promise<Row> {
  const jsonUrl = `${baseUrl}/api/v1/checks/${id}`;
  const pageUrl = `${baseUrl}/checks/${id}`;
  const first = await fetch(jsonUrl, { headers: { "x-forwarded-for": CLIENT } });
  const jsonBytes = (await first.arrayBuffer()).byteLength;
  const jsonSent = await sentBytes(jsonUrl, {});
  const etag = first.headers.get("etag");
  const page = await fetch(pageUrl, { headers: { "x-forwarded-for": CLIENT, ...DOCUMENT } });
  if (page.status !== 200) throw new Error(`${label}: the page answered ${page.status}`);
  const html = Buffer.from(await page.arrayBuffer());
  const pageBytes = html.byteLength;
  const pageSent = await sentBytes(pageUrl, DOCUMENT);
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
  return { label, jsonBytes, pageBytes, jsonSent, pageSent, json, json304, page: pageFigures };
}

function print(rows: Row[]): void {
  const col = (s: string) => s.padStart(24);
  const line = (name: string, cell: (r: Row) => string) => console.log(name.padEnd(34) + rows.map((r) => col(cell(r))).join(""));
  const fig = (f: Figures | null) => (f ? `${f.rps.toFixed(0)} rps ${f.p50Ms.toFixed(1)}/${f.p99Ms.toFixed(1)} ms` : "—");
  const bad = (f: Figures | null) => (f ? `${f.non2xx}/${f.errors}` : "—");
  console.log(`\nreport read, ${connections} connections, ${seconds} s each, Accept-Encoding: ${values.encoding} (rps, then p50/p99 latency)\n`);
  line("", (r) => r.label);
  line("JSON GET", (r) => fig(r.json));
  line("JSON GET, If-None-Match (304)", (r) => fig(r.json304));
  line("page GET", (r) => fig(r.page));
  line("JSON body bytes", (r) => String(r.jsonBytes));
  line("page HTML bytes", (r) => String(r.pageBytes));
  if (values.encoding === "gzip") {
    line("JSON bytes sent (gzip)", (r) => String(r.jsonSent));
    line("page bytes sent (gzip)", (r) => String(r.pageSent));
  }
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
    const what = `${usePostfix ? "a closed Postfix" : "a closed fake server"} at ${mta.host}`;

    const sides: { label: string; baseUrl: string; id: string }[] = [];
    if (values.base) {
      const url = new URL(services.benchDatabaseUrl);
      url.pathname = `${url.pathname}_base`;
      const base = await startBaseService(path.resolve(values.base), url.toString(), [dns.address]);
      stops.push(() => base.stop());
      const id = await finishedCheck(base, mta.host);
      process.stderr.write(`base: check ${id} of ${what} is done\n`);
      sides.push({ label: "base", baseUrl: base.baseUrl, id });
    }
    // BENCH_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"): for this checkout's processes.
    const nodeOptions: Record<string, string> = process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {};
    const service = await startService({ databaseUrl: services.benchDatabaseUrl, dnsServers: [dns.address], env: { ...SERVICE_ENV, ...nodeOptions } });
    stops.push(() => service.stop());
    const id = await finishedCheck(service, mta.host);
    process.stderr.write(`this checkout: check ${id} of ${what} is done\n`);
    sides.push({ label: "this checkout", baseUrl: service.baseUrl, id });

    // Rounds interleave the checkouts, so that a change in the machine's load hits both.
    const rounds: Row[][] = [];
    for (let round = 1; round <= roundCount; round++) {
      const rows: Row[] = [];
      for (const side of sides) rows.push(await measureWeb(side.label, side.baseUrl, side.id));
      if (roundCount > 1) {
        console.log(`\nround ${round} of ${roundCount}`);
        print(rows);
      }
      rounds.push(rows);
    }
    if (roundCount > 1) console.log(`\nmedian of ${roundCount} rounds (each figure the round with the median requests/s)`);
    print(sides.map((_, i) => medianRow(rounds.map((rows) => rows[i]!))));
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await services.stop();
  }
}

/** Per measurement, the round whose requests/s is the median (the lower middle one of an even count). */
function medianRow(rows: Row[]): Row {
  const pick = (f: (r: Row) => Figures | null): Figures | null => {
    const all = rows.map(f).filter((x): x is Figures => x !== null).sort((a, b) => a.rps - b.rps);
    return all[Math.floor((all.length - 1) / 2)] ?? null;
  };
  const first = rows[0]!;
  return { ...first, json: pick((r) => r.json)!, json304: pick((r) => r.json304), page: pick((r) => r.page)! };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
