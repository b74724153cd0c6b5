/**
 * What the blocklist lookups add to a check (issue 13): the same check of a domain whose MX is a
 * closed smtp-server fake, through a local DNS server on loopback, with blocklists off, on (the
 * default set: 7 IPv4 lists for the address, 2 domain lists for each of 2 names, all answered
 * NXDOMAIN), and on with a warm cache (answers kept, as the worker's Redis keeps them). Runs are
 * interleaved so that drift hits all three alike. Run by hand:
 *
 *   npx tsx bench/measure-blocklist-cost.ts [--runs 30]
 */
import { once } from "node:events";
import { parseArgs } from "node:util";
import { SMTPServer } from "smtp-server";
import { probe, type BlocklistCache, type BlocklistLookup, type ProbeOptionsInput } from "@/lib/probe";
import { normalizeTarget } from "@/lib/probe/target";
import { startDnsServer } from "@/tests/support/dns-server";

const { values } = parseArgs({ options: { runs: { type: "string", default: "30" } } });
const runs = Number(values.runs);

const fake = new SMTPServer({
  disableReverseLookup: true,
  authOptional: true,
  logger: false,
  disabledCommands: ["STARTTLS"],
  onRcptTo: (_a, _s, cb) => cb(Object.assign(new Error("5.7.1 Relaying denied"), { responseCode: 554 })),
});
fake.listen(0, "127.0.0.1");
await once(fake.server, "listening");
const port = (fake.server.address() as { port: number }).port;
const dns = await startDnsServer({ mx: { "bench.test": [{ exchange: "mx.bench.test", priority: 10 }] }, a: { "mx.bench.test": ["127.0.0.1"] }, ptr: { "127.0.0.1": ["mx.bench.test"] } });

const store = new Map<string, BlocklistLookup>();
const cache: BlocklistCache = { get: async (k) => store.get(k) ?? null, set: async (k, v) => void store.set(k, v) };
const target = normalizeTarget("bench.test", { allowReservedNames: true });
const base: ProbeOptionsInput = { ports: [port], dnsServers: [dns.address], addressPolicy: () => ({ allowed: true }) };
const variants: [string, ProbeOptionsInput][] = [
  ["blocklists off", { ...base, blocklists: { zones: "off" } }],
  ["default lists, no cache", base],
  ["default lists, warm cache", { ...base, blocklists: { cache } }],
];

const samples = new Map<string, { check: number[]; lookups: number[] }>(variants.map(([name]) => [name, { check: [], lookups: [] }]));
await probe(target, { ...base, blocklists: { cache } }); // warms the cache (and the JIT)
for (let i = 0; i < runs; i++) {
  for (const [name, options] of variants) {
    const report = await probe(target, options);
    const s = samples.get(name)!;
    s.check.push(report.durationMs);
    const dnsbl = report.servers[0]!.dnsbl;
    if (dnsbl) s.lookups.push(Math.max(dnsbl.durationMs, ...dnsbl.domains.map((d) => d.durationMs)));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const off = median(samples.get("blocklists off")!.check);
for (const [name, s] of samples) {
  const check = median(s.check);
  const lookups = s.lookups.length ? `; lookups themselves: median ${median(s.lookups).toFixed(1)} ms` : "";
  console.log(`${name.padEnd(28)} check median ${check.toFixed(1)} ms (${check - off >= 0 ? "+" : ""}${(check - off).toFixed(1)} ms)${lookups}  (${runs} runs)`);
}
fake.close();
await dns.close();
