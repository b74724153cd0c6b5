/**
 * `relaycheck --retry-tempfail` (issue 9 item 4, CLI) against a real Postfix open relay behind
 * a real greylisting policy service (Debian's postgrey, a 4 s delay): without the flag the check
 * is inconclusive (exit 1); with it the CLI waits, runs only the tempfailed cases again and ends
 * with the open relay (exit 2), its JSON keeping each case's earlier try. No DATA ever.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "@/cli/main";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { postfixAvailable, startPostfix, type PostfixInstance } from "@/tests/support/postfix";
import { postgreyAvailable, startPostgrey, type PostgreyInstance } from "@/tests/support/postgrey";
import { requireOrSkip } from "@/tests/support/require";
import type { CheckReport } from "@/lib/probe";

const postfix = postfixAvailable();
const postgrey = postgreyAvailable();
const GREYLIST_SECONDS = 4;

let dns: LocalDnsServer | undefined;
let grey: PostgreyInstance | undefined;
let pf: PostfixInstance | undefined;

beforeAll(async () => {
  if (!postfix.ok || !postgrey.ok) return;
  dns = await startDnsServer({});
  grey = await startPostgrey({ host: "127.0.0.62", delaySeconds: GREYLIST_SECONDS });
  pf = await startPostfix({
    preset: "open",
    main: { smtpd_relay_restrictions: `check_policy_service inet:${grey.address}, permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination` },
  });
}, 60_000);

afterAll(async () => {
  await pf?.close();
  await grey?.close();
  await dns?.close();
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await main([pf!.host, "--allow", "127.0.0.0/8", "--dns", dns!.address, "--dnsbl", "off", "--retry-pause", "0.1", "--json", ...args], {});
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe("relaycheck --retry-tempfail", () => {
  it("waits, re-runs the greylisted cases and exits with the open relay's code", async (ctx) => {
    requireOrSkip(ctx, postfix);
    requireOrSkip(ctx, postgrey);
    const before = await cli([]);
    const first = JSON.parse(before.stdout) as CheckReport;
    expect(before.code, first.reason).toBe(1);
    expect(first.verdict).toBe("inconclusive");
    expect(first.servers[0]!.cases.find((c) => c.id === "third-party")).toMatchObject({ outcome: "tempfail", reply: { code: 450 } });

    const after = await cli(["--retry-tempfail", String(GREYLIST_SECONDS + 1)]);
    const report = JSON.parse(after.stdout) as CheckReport;
    expect(after.code, report.reason).toBe(2);
    expect(report.verdict).toBe("open-relay");
    // Not a terminal here: one plain line per round, no countdown escapes.
    expect(after.stderr).toMatch(/^\d+ cases got a temporary refusal \(greylisting\?\); re-checking them in 5 s \(round 1 of at most 2\)$/m);
    expect(after.stderr).not.toContain("\r");
    const server = report.servers[0]!;
    const third = server.cases.find((c) => c.id === "third-party")!;
    expect(third).toMatchObject({ outcome: "accepted", evidence: true });
    expect(third.earlier?.[0]).toMatchObject({ round: 0, outcome: "tempfail", reply: { code: 450 } });
    expect(third.earlier).toHaveLength(third.recheck!.round);
    expect(server.transcript.filter((l) => l.dir === "client" && /^(DATA|BDAT)\b/i.test(l.line))).toEqual([]);
    const maillog = await pf!.maillog();
    expect(maillog).not.toMatch(/\b(data|bdat)=\d/);
    expect(maillog).not.toMatch(/status=(sent|deferred|bounced)|queued as/);
  }, 60_000);
});
