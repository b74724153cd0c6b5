import { startServerFacts } from "./add-server-facts";
import { resolveOptions, type ProbeOptionsInput } from "./options";
import { probeServer, serverKey } from "./probe-server";
import { resolveTarget, type ServerTarget } from "./resolve-target";
import { normalizeTarget } from "./target";
import { checkVerdict } from "./verdict";
import { REPORT_SCHEMA_VERSION, type CheckReport, type NormalizedTarget, type ProbeEvent, type ServerReport } from "./types";

/** Different addresses are probed side by side; one address's ports one after another. */
const PARALLEL_ADDRESSES = 3;

/**
 * Runs a whole check and yields its events as they happen; the generator's return value is the
 * final report (also carried by the last event, `done`):
 * 1. normalise the target (a `TargetInputError` for bad input, before anything is sent);
 * 2. resolve MX, A/AAAA and PTR; apply the target policy to every address;
 * 3. probe each server (address and port), a few addresses at a time, while the facts beside
 *    the verdict (blocklists, FCrDNS) are gathered;
 * 4. judge the check from its servers.
 */
export async function* runCheck(input: string | NormalizedTarget, optionsInput: ProbeOptionsInput): AsyncGenerator<ProbeEvent, CheckReport, void> {
  const target = typeof input === "string" ? normalizeTarget(input) : input;
  const options = resolveOptions(optionsInput);
  const startedAt = new Date();
  const checkStarted = performance.now();
  const t = () => Math.round(performance.now() - checkStarted);
  const channel = new EventChannel();

  const work = (async (): Promise<CheckReport> => {
    const { info, servers } = await resolveTarget(target, {
      ports: options.ports,
      dnsServers: options.dnsServers,
      dnsMs: options.timeouts.dnsMs,
      maxMxHosts: options.limits.maxMxHosts,
      maxAddresses: options.limits.maxAddresses,
      addressPolicy: options.addressPolicy,
      signal: options.signal,
    });
    channel.push({
      type: "resolved",
      t: t(),
      resolution: info,
      servers: servers.map((s) => ({ key: serverKey(s.ip, s.port), host: s.host, ip: s.ip, port: s.port })),
    });

    // Blocklists and name checks run beside the probes; each server-done waits for its own.
    const facts = startServerFacts(target, servers, options);

    const byAddress = new Map<string, ServerTarget[]>();
    for (const s of servers) byAddress.set(s.ip, [...(byAddress.get(s.ip) ?? []), s]);
    const reports = new Map<ServerTarget, ServerReport>();
    const groups = [...byAddress.values()];
    const ctx = { target, options, emit: (e: ProbeEvent) => channel.push(e), checkStarted };
    await runLimited(groups, PARALLEL_ADDRESSES, async (group) => {
      for (const server of group) {
        const slot = await options.acquireServerSlot?.(server.ip, server.port);
        let report: ServerReport;
        if (slot && typeof slot === "object") {
          report = await probeServer(server, { ...ctx, refused: slot.refused });
        } else {
          try {
            report = await probeServer(server, ctx);
          } finally {
            await slot?.();
          }
        }
        report = await facts.addTo(server, report);
        reports.set(server, report);
        channel.push({ type: "server-done", t: t(), server: serverKey(server.ip, server.port), report });
      }
    });

    const ordered = servers.map((s) => reports.get(s)!);
    const { verdict, reason } = checkVerdict(ordered, noServersReason(target, info));
    const finished = new Date();
    const report: CheckReport = {
      schemaVersion: REPORT_SCHEMA_VERSION,
      target,
      options: { ports: options.ports, ehloName: options.ehloName, senderDomain: options.senderDomain, recipientDomain: options.recipientDomain },
      startedAt: startedAt.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: Math.round(performance.now() - checkStarted),
      verdict,
      reason,
      resolution: info,
      servers: ordered,
    };
    channel.push({ type: "done", t: t(), report });
    return report;
  })();
  work.then(() => channel.close(), (err: unknown) => channel.fail(err));

  for (;;) {
    const next = await channel.next();
    if (next === END) break;
    yield next;
  }
  return work;
}

/** Runs a whole check and returns its report; `onEvent` sees every event on the way. */
export async function probe(input: string | NormalizedTarget, options: ProbeOptionsInput, onEvent?: (event: ProbeEvent) => void): Promise<CheckReport> {
  const events = runCheck(input, options);
  for (;;) {
    const step = await events.next();
    if (step.done) return step.value;
    onEvent?.(step.value);
  }
}

function noServersReason(target: NormalizedTarget, info: CheckReport["resolution"]): string {
  if (info.nullMx) return `${target.name} publishes a null MX record: it says it accepts no mail, so there is nothing to test.`;
  if (info.refused.length) {
    const r = info.refused[0]!;
    return `No address may be tested: ${r.ip} (${r.host}) port ${r.port} is refused: ${r.reason}`;
  }
  if (info.errors.length) return `No mail server found for ${target.name}: ${info.errors[0]}.`;
  const failed = info.hosts.find((h) => h.error);
  if (failed) return `No address found for ${failed.host}: ${failed.error}.`;
  return `No mail server found for ${target.name}.`;
}

async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

const END = Symbol("end");

/** An unbounded single-consumer queue between the probe's tasks and the generator. */
class EventChannel {
  private items: ProbeEvent[] = [];
  private waiting: ((value: ProbeEvent | typeof END) => void) | null = null;
  private ended = false;
  private error: unknown = null;

  push(event: ProbeEvent): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(event);
    } else {
      this.items.push(event);
    }
  }

  close(): void {
    this.ended = true;
    this.waiting?.(END);
    this.waiting = null;
  }

  fail(error: unknown): void {
    this.error = error ?? new Error("probe failed");
    this.close();
  }

  next(): Promise<ProbeEvent | typeof END> {
    const item = this.items.shift();
    if (item) return Promise.resolve(item);
    if (this.ended) return this.error ? Promise.reject(this.error) : Promise.resolve(END);
    return new Promise((resolve) => (this.waiting = resolve));
  }
}
