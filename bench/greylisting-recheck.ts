/**
 * Verdict and time of a check of a Postfix behind greylisting (Debian's postgrey, a short
 * `--delay`), before and after the re-check: the engine's one probe (what a check answered
 * before issue 9 item 4), then the same followed by re-check rounds as the CLI's
 * `--retry-tempfail` and the service's RECHECK_DELAYS_SECONDS run them (lib/probe recheckCases).
 * Each Postfix gets a fresh postgrey. Run by hand (as root, Postfix and postgrey installed):
 *
 *   npx tsx bench/greylisting-recheck.ts [--delay 4] [--wait 5]
 *
 * Loopback only; no DATA is ever sent.
 */
import { parseArgs } from "node:util";
import { probe, recheckCases, recheckPlan, type CheckReport, type ProbeOptionsInput } from "@/lib/probe";
import { normalizeTarget } from "@/lib/probe/target";
import { postfixAvailable, startPostfix, type PostfixPreset } from "@/tests/support/postfix";
import { postgreyAvailable, startPostgrey } from "@/tests/support/postgrey";
import { startDnsServer } from "@/tests/support/dns-server";

const { values } = parseArgs({ options: { delay: { type: "string", default: "4" }, wait: { type: "string", default: "5" } } });
const delaySeconds = Number(values.delay);
const waitMs = Number(values.wait) * 1000;

for (const check of [postfixAvailable(), postgreyAvailable()]) {
  if (!check.ok) {
    console.error(check.reason);
    process.exit(1);
  }
}

const dns = await startDnsServer({});
const options = (): ProbeOptionsInput => ({ ports: [25], dnsServers: [dns.address], addressPolicy: () => ({ allowed: true }), blocklists: { zones: "off" }, timeouts: { retryPauseMs: 100 } });
const line = (label: string, r: CheckReport, ms: number) => {
  const s = r.servers[0]!;
  const tempfail = s.cases.filter((c) => c.outcome === "tempfail").length;
  console.log(`  ${label.padEnd(34)} ${r.verdict.padEnd(15)} ${(ms / 1000).toFixed(2).padStart(6)} s  (${s.cases.length} cases, ${tempfail} tempfail, ${s.sessions.length} sessions)`);
};

console.log(`Postfix behind postgrey --delay=${delaySeconds}; re-check after ${waitMs / 1000} s, at most 2 rounds`);
let host = 64;
for (const preset of ["open", "closed"] as PostfixPreset[]) {
  const grey = await startPostgrey({ host: `127.0.0.${host++}`, delaySeconds });
  const pf = await startPostfix({ preset, main: { smtpd_relay_restrictions: `check_policy_service inet:${grey.address}, permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination` } });
  try {
    console.log(`${preset} relay:`);
    const started = performance.now();
    let report = await probe(normalizeTarget(pf.host), options());
    const probeMs = performance.now() - started;
    line("before (one probe)", report, probeMs);
    let probing = probeMs;
    for (let round = 1; round <= 2 && recheckPlan(report).length > 0; round++) {
      await new Promise((r) => setTimeout(r, waitMs));
      const t = performance.now();
      report = await recheckCases(report, options(), { round });
      probing += performance.now() - t;
      line(`after re-check round ${round} (wall)`, report, performance.now() - started);
    }
    console.log(`  probing time in all (without the waits): ${(probing / 1000).toFixed(2)} s`);
  } finally {
    await pf.close();
    await grey.close();
  }
}
await dns.close();
