/**
 * relaycheck CLI: runs the probe engine against one target from a shell, with no database or
 * queue. Exit codes follow the Nagios plugin convention so it drops into monitoring.
 */
import { parseArgs } from "node:util";
import {
  BlocklistSelectionError,
  DEFAULT_TIMEOUTS,
  normalizeTarget,
  parseBlocklistSelection,
  plannedCaseCount,
  recheckCases,
  recheckPlan,
  runCheck,
  SMTP_PORTS,
  TargetInputError,
  type CheckReport,
  type ProbeEvent,
  type ProbeOptionsInput,
  type Verdict,
} from "../lib/probe";
import { createAddressPolicy, parseAllowList, TargetPolicyConfigError } from "../lib/security/target-policy";
import { withAdvice } from "../lib/advice";
import { formatProgress, formatReport } from "./format-report";
import { parseListen, proveDeliveryFromCli } from "./prove-delivery";

export const EXIT: Record<Verdict | "error", number> = {
  "not-open-relay": 0,
  inconclusive: 1,
  "open-relay": 2,
  unreachable: 3,
  error: 3,
};

const USAGE = `Usage: relaycheck [options] <target>

Checks whether an SMTP server is an open relay. <target> is a domain (its MX hosts are
tested), a host name, or an IPv4/IPv6 address. No mail is sent: the probe stops at RCPT TO
(except one message per server with --prove-delivery-to, when you ask for it).

Options:
  -p, --port <n>              SMTP port to test: 25 (default), 587 or 465 (implicit TLS); repeatable
  -t, --timeout <seconds>     wait at most this long for each reply (default 20; greeting: 30)
      --max-time <seconds>    time budget per server, all sessions included (default 90)
      --ehlo <name>           name sent in EHLO/HELO (default relaycheck.invalid)
      --sender-domain <d>     domain of the probe's sender address (default relaycheck.invalid)
      --recipient-domain <d>  outside domain the relay cases try to reach; use one you own
                              (default relay-target.invalid, which nobody can own)
      --allow <cidr>          allow an address range the target policy refuses by default
                              (loopback, private networks); repeatable; also the env
                              RELAYCHECK_ALLOW_TARGETS (comma-separated)
      --dns <server>          DNS server to ask (ip or ip:port); repeatable; also
                              RELAYCHECK_DNS_SERVERS; default: the system's
      --dnsbl <zones>|off     DNS blocklists to ask about each server address and the
                              domain (comma-separated zones, "default" for the default
                              set, or "off"); also RELAYCHECK_DNSBLS; default: the
                              default set, asked through the DNS servers above
      --retry-tempfail <s>    when cases got a temporary refusal a later session could decide
                              (greylisting), wait this long, run only those cases again, and
                              once more if needed; the report and exit code are the final ones
                              (default: off; e.g. 75)
      --retry-pause <s>       pause before a case that got a temporary refusal runs again
                              within the probe, in a later session (default 3; 0 to 600)
      --rate-limit-wait <s>   longest wait for a server that limits new connections (421),
                              within --max-time (default 62)
      --no-starttls           stay in plaintext unless the server demands TLS
      --prove-delivery-to <a> proof by delivery: through each server that accepted a relay test,
                              send ONE harmless message to <a>, a mailbox you own, and print the
                              token to look for there (the only time the CLI sends DATA)
      --sink-listen <h:p>     with --prove-delivery-to: run the sink on host:port for the domain of
                              <a> (its MX must reach it), send to <token>@<that domain> and wait
                              for the message; the verdict says "proven" when it arrives
      --delivery-wait <s>     how long --sink-listen waits (default 600)
      --prove-delivery        the same as --prove-delivery-to, which it needs
      --allow-reserved-names  accept names under .test, .example, .invalid, .local (lab setups)
      --json                  print the final report as one JSON document, each server with its
                              advice (software, fix steps) and a summary
  -v, --verbose               the whole report: DNS, facts, every case, every fix in full
                              (the default is concise: verdict, what to do, cases grouped by reply)
      --transcript            print the SMTP conversation too (human output)
  -q, --quiet                 no progress on stderr
  -h, --help                  this help

Exit codes: 0 not an open relay, 1 inconclusive, 2 open relay, 3 unreachable or error.

Monitors on a relaycheck service: relaycheck monitor add|list|rm (relaycheck monitor --help).
`;

class UsageError extends Error {}

function positiveNumber(name: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new UsageError(`${name} must be a number of seconds between 0 and ${max}, got "${value}"`);
  return n;
}

function seconds(name: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > max) throw new UsageError(`${name} must be a number of seconds from 0 to ${max}, got "${value}"`);
  return n;
}

function listFromEnv(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean);
}

export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  if (argv[0] === "monitor") return (await import("./monitor-command")).runMonitorCommand(argv.slice(1), env);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: "string", short: "p", multiple: true },
        timeout: { type: "string", short: "t" },
        "max-time": { type: "string" },
        "retry-tempfail": { type: "string" },
        "retry-pause": { type: "string" },
        "rate-limit-wait": { type: "string" },
        ehlo: { type: "string" },
        "sender-domain": { type: "string" },
        "recipient-domain": { type: "string" },
        allow: { type: "string", multiple: true },
        dns: { type: "string", multiple: true },
        dnsbl: { type: "string", multiple: true },
        "no-starttls": { type: "boolean" },
        "prove-delivery": { type: "boolean" },
        "prove-delivery-to": { type: "string" },
        "sink-listen": { type: "string" },
        "delivery-wait": { type: "string" },
        "allow-reserved-names": { type: "boolean" },
        json: { type: "boolean" },
        verbose: { type: "boolean", short: "v" },
        transcript: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  let report: CheckReport;
  try {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "a target is required" : `one target at a time (got ${positionals.length})`);
    const ports = (values.port ?? ["25"]).flatMap((p) => p.split(",")).map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--port must be a port number, got "${p}"`);
      return n;
    });
    const timeout = positiveNumber("--timeout", values.timeout, 600);
    const maxTime = positiveNumber("--max-time", values["max-time"], 3600);
    const reserved = { allowReservedNames: values["allow-reserved-names"] ?? false };
    const domainOption = (name: string, value: string | undefined) => {
      if (value === undefined) return undefined;
      try {
        const target = normalizeTarget(value, reserved.allowReservedNames ? reserved : { allowReservedNames: true });
        if (target.kind !== "domain") throw new UsageError(`${name} must be a domain name, got "${value}"`);
        return target.name;
      } catch (err) {
        if (err instanceof TargetInputError) throw new UsageError(`${name}: ${err.message}`);
        throw err;
      }
    };
    const ehloName = domainOption("--ehlo", values.ehlo);
    const senderDomain = domainOption("--sender-domain", values["sender-domain"]);
    const recipientDomain = domainOption("--recipient-domain", values["recipient-domain"]);
    const target = normalizeTarget(positionals[0]!, reserved);
    const allow = [...parseAllowList(env.RELAYCHECK_ALLOW_TARGETS), ...(values.allow ?? []).flatMap((a) => parseAllowList(a))];
    // Ports named on the command line are the operator's own choice.
    const addressPolicy = createAddressPolicy({ allow, extraPorts: ports.filter((p) => !(SMTP_PORTS as readonly number[]).includes(p)) });
    const dnsServers = values.dns ?? listFromEnv(env.RELAYCHECK_DNS_SERVERS);
    const dnsbl = values.dnsbl?.join(",") ?? env.RELAYCHECK_DNSBLS;
    const blocklistZones = dnsbl?.trim() ? parseBlocklistSelection(dnsbl) : undefined;

    const proofTo = values["prove-delivery-to"];
    if (values["prove-delivery"] && !proofTo) throw new UsageError("--prove-delivery needs --prove-delivery-to <address>: a mailbox you own (or, with --sink-listen, any address at the domain the sink receives for)");
    if (proofTo !== undefined && !/^[A-Za-z0-9._+-]{1,64}@[A-Za-z0-9.-]{1,253}$/.test(proofTo)) throw new UsageError(`--prove-delivery-to must be a plain address (local@domain), got "${proofTo}"`);
    const sinkListen = values["sink-listen"] === undefined ? null : parseListen(values["sink-listen"]);
    if (values["sink-listen"] !== undefined && !sinkListen) throw new UsageError(`--sink-listen must be host:port, got "${values["sink-listen"]}"`);
    if (sinkListen && !proofTo) throw new UsageError("--sink-listen needs --prove-delivery-to <any address at the sink's domain>");
    const deliveryWait = positiveNumber("--delivery-wait", values["delivery-wait"], 86_400) ?? 600;

    const retryTempfail = positiveNumber("--retry-tempfail", values["retry-tempfail"], 3600);
    const retryPause = seconds("--retry-pause", values["retry-pause"], 600);
    const rateLimitWait = seconds("--rate-limit-wait", values["rate-limit-wait"], 3600);
    const serverTotalMs = maxTime ? maxTime * 1000 : DEFAULT_TIMEOUTS.serverTotalMs;
    if (rateLimitWait !== undefined && rateLimitWait * 1000 >= serverTotalMs) {
      throw new UsageError(`--rate-limit-wait (${rateLimitWait} s) must be shorter than --max-time (${serverTotalMs / 1000} s): raise --max-time too`);
    }

    const progress = !values.quiet && !values.json && process.stderr.isTTY;
    if (target.stripped) process.stderr.write(`Testing ${target.name} (removed "${target.stripped}")\n`);
    const probeOptions: ProbeOptionsInput = {
      ports,
      ehloName,
      senderDomain,
      recipientDomain,
      dnsServers,
      blocklists: { zones: blocklistZones },
      addressPolicy,
      starttls: values["no-starttls"] ? "never" : "auto",
      timeouts: {
        ...(timeout ? { commandMs: timeout * 1000, greetingMs: Math.max(timeout * 1000, 30_000) } : {}),
        ...(maxTime ? { serverTotalMs: maxTime * 1000 } : {}),
        ...(retryPause !== undefined ? { retryPauseMs: retryPause * 1000 } : {}),
        ...(rateLimitWait !== undefined ? { rateLimitWaitMs: rateLimitWait * 1000 } : {}),
      },
    };
    const events = runCheck(target, probeOptions);
    for (;;) {
      const step = await events.next();
      if (step.done) {
        report = step.value;
        break;
      }
      if (progress) writeProgress(step.value);
    }
    if (retryTempfail) report = await retryTempfails(report, probeOptions, retryTempfail * 1000, { progress, quiet: values.quiet ?? false });
    if (proofTo) {
      report = await proveDeliveryFromCli(report, {
        to: proofTo,
        sinkListen,
        waitMs: deliveryWait * 1000,
        probe: probeOptions,
        say: (line) => {
          if (!values.quiet) process.stderr.write(`${line}\n`);
        },
      });
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof TargetInputError || err instanceof TargetPolicyConfigError) return usageError(err.message);
    if (err instanceof BlocklistSelectionError) return usageError(`--dnsbl: ${err.message}`);
    process.stderr.write(`relaycheck: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.error;
  }

  if (values.json) process.stdout.write(`${JSON.stringify(withAdvice(report), null, 2)}\n`);
  else {
    const verbose = (values.verbose ?? false) || (values.transcript ?? false);
    const width = process.stdout.isTTY && process.stdout.columns ? Math.max(60, Math.min(process.stdout.columns, 120)) : 100;
    process.stdout.write(formatReport(report, { transcript: values.transcript ?? false, verbose, width, color: process.stdout.isTTY && !env.NO_COLOR }));
  }
  return EXIT[report.verdict];
}

/** Rounds of `--retry-tempfail`: the first, and at most one more. */
const RETRY_TEMPFAIL_ROUNDS = 2;
const COUNTDOWN_TICK_MS = 1000;

/**
 * `--retry-tempfail`: while cases got a temporary refusal that a later session could decide
 * (lib/probe recheckPlan), wait `waitMs` (a countdown on a terminal, one line otherwise), run
 * only those cases again and fold the answers into the report; at most RETRY_TEMPFAIL_ROUNDS.
 */
async function retryTempfails(report: CheckReport, options: ProbeOptionsInput, waitMs: number, out: { progress: boolean; quiet: boolean }): Promise<CheckReport> {
  for (let round = 1; round <= RETRY_TEMPFAIL_ROUNDS; round++) {
    const plan = recheckPlan(report);
    if (plan.length === 0) break;
    const cases = plannedCaseCount(plan);
    const what = `${cases === 1 ? "1 case" : `${cases} cases`} got a temporary refusal (greylisting?)`;
    await countdown(waitMs, (left) => `${what}; re-checking ${cases === 1 ? "it" : "them"} in ${left} s (round ${round} of at most ${RETRY_TEMPFAIL_ROUNDS})`, out);
    report = await recheckCases(report, options, { round }, out.progress ? writeProgress : undefined, plan);
    if (!out.quiet) process.stderr.write(`Re-check round ${round}: ${report.verdict}\n`);
  }
  return report;
}

/** Waits `ms`; on a terminal the line counts down in place, else it is written once. */
async function countdown(ms: number, line: (secondsLeft: number) => string, out: { progress: boolean; quiet: boolean }): Promise<void> {
  const end = Date.now() + ms;
  if (out.quiet) return new Promise((resolve) => setTimeout(resolve, ms));
  if (!out.progress) {
    process.stderr.write(`${line(Math.ceil(ms / 1000))}\n`);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
  for (let left = end - Date.now(); left > 0; left = end - Date.now()) {
    process.stderr.write(`\r\x1b[K${line(Math.ceil(left / 1000))}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(COUNTDOWN_TICK_MS, left)));
  }
  process.stderr.write("\r\x1b[K");
}

function writeProgress(event: ProbeEvent): void {
  const line = formatProgress(event);
  if (line) process.stderr.write(`${line}\n`);
}

function usageError(message: string): number {
  process.stderr.write(`relaycheck: ${message}\nTry 'relaycheck --help'.\n`);
  return EXIT.error;
}
