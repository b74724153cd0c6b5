/**
 * `relaycheck monitor add|list|rm`: the monitors API of a relaycheck service from a shell, with
 * the API key in RELAYCHECK_API_KEY and the service's address in --server or RELAYCHECK_URL.
 * Exit codes: 0 done, 3 an error (usage, the service's refusal, no answer).
 */
import { parseArgs } from "node:util";
import type { MonitorView } from "../lib/monitors/monitor-schema";

const EXIT_OK = 0;
const EXIT_ERROR = 3;
const DEFAULT_SERVER = "http://127.0.0.1:3000";
/** An API call that takes longer than this has failed. */
const REQUEST_TIMEOUT_MS = 30_000;

export const MONITOR_USAGE = `Usage: relaycheck monitor add <target> [options]
       relaycheck monitor list
       relaycheck monitor rm <id>

Manages monitors on a relaycheck service: scheduled re-checks of a target, with an alert
(webhook, email) when the result changes. Needs an API key in RELAYCHECK_API_KEY.

Options:
      --server <url>          the service (default RELAYCHECK_URL, else ${DEFAULT_SERVER})
  -p, --port <n>              SMTP port to test (add; repeatable; default 25)
  -i, --interval <seconds>    time between checks (add; default a day, at least an hour)
      --webhook <url>         POST a signed JSON alert here on a change (add)
      --email <address>       email an alert here on a change (add)
      --json                  print the service's JSON answer
  -h, --help                  this help
`;

class UsageError extends Error {}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export async function runMonitorCommand(argv: string[], env: Record<string, string | undefined> = process.env, io: Io = stdio): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: "string" },
        port: { type: "string", short: "p", multiple: true },
        interval: { type: "string", short: "i" },
        webhook: { type: "string" },
        email: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    const [action, ...rest] = positionals;
    if (values.help || !action) {
      io.out(MONITOR_USAGE);
      return action || values.help ? EXIT_OK : EXIT_ERROR;
    }
    const key = env.RELAYCHECK_API_KEY?.trim();
    if (!key) throw new UsageError("set RELAYCHECK_API_KEY to your API key (rk_…)");
    const server = (values.server ?? env.RELAYCHECK_URL ?? DEFAULT_SERVER).replace(/\/+$/, "");
    const api = (method: string, path: string, body?: unknown) => call(server, key, method, path, body);

    switch (action) {
      case "add": {
        if (rest.length !== 1) throw new UsageError("monitor add takes one target");
        const ports = values.port?.flatMap((p) => p.split(",")).map((p) => wholeNumber("--port", p));
        const interval = values.interval === undefined ? undefined : wholeNumber("--interval", values.interval);
        const notify = values.webhook || values.email ? { ...(values.webhook ? { webhook: values.webhook } : {}), ...(values.email ? { email: values.email } : {}) } : undefined;
        const monitor = (await api("POST", "/api/v1/monitors", { target: rest[0], ports, interval, notify })) as MonitorView;
        io.out(values.json ? `${JSON.stringify(monitor, null, 2)}\n` : `${describe(monitor)}\nwebhook secret: ${monitor.webhookSecret}\n`);
        return EXIT_OK;
      }
      case "list": {
        const { monitors } = (await api("GET", "/api/v1/monitors")) as { monitors: MonitorView[] };
        if (values.json) io.out(`${JSON.stringify(monitors, null, 2)}\n`);
        else io.out(monitors.length === 0 ? "No monitors.\n" : `${monitors.map(describe).join("\n")}\n`);
        return EXIT_OK;
      }
      case "rm": {
        if (rest.length !== 1) throw new UsageError("monitor rm takes one monitor id");
        await api("DELETE", `/api/v1/monitors/${encodeURIComponent(rest[0]!)}`);
        if (!values.json) io.out(`Deleted monitor ${rest[0]}.\n`);
        return EXIT_OK;
      }
      default:
        throw new UsageError(`unknown monitor command "${action}" (add, list or rm)`);
    }
  } catch (e) {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    io.err(`relaycheck monitor: ${e instanceof Error ? e.message : String(e)}\n${usage ? "Try 'relaycheck monitor --help'.\n" : ""}`);
    return EXIT_ERROR;
  }
}

function wholeNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a whole number, got "${value}"`);
  return n;
}

async function call(server: string, key: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${server}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  }).catch((e: unknown) => {
    throw new Error(`no answer from ${server}: ${e instanceof Error ? e.message : String(e)}`);
  });
  if (res.status === 204) return null;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: said below.
  }
  if (!res.ok) {
    const message = (json as { error?: { message?: string } } | null)?.error?.message;
    throw new Error(`${res.status}: ${message ?? text.slice(0, 200)}`);
  }
  if (json === null) throw new Error(`${server} answered something that is not JSON`);
  return json;
}

/** One line per monitor: id, target, ports, interval, state, last verdict. */
export function describe(m: MonitorView): string {
  const every = m.interval % 3600 === 0 ? `${m.interval / 3600} h` : `${m.interval} s`;
  const verdict = m.lastVerdict ?? "not checked yet";
  const state = m.state === "backing-off" ? `  backing off (${m.consecutiveFailures} failures)` : "";
  const notify = [m.notify.webhook ? "webhook" : null, m.notify.email ? "email" : null].filter(Boolean).join("+") || "no alerts";
  return `${m.id}  ${m.target}:${m.ports.join(",")}  every ${every}  ${verdict}  ${notify}${state}`;
}
