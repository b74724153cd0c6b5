/**
 * The automatic re-check of greylisted cases (issue 9 item 4), end to end: the real web server,
 * worker, PostgreSQL and Redis, and real Postfix instances behind a real greylisting policy
 * service (Debian's postgrey, `check_policy_service` before the relay decision, an 8 s delay).
 * The first probe meets "450 Greylisted" everywhere and is inconclusive; the check waits
 * (`waiting` event, a "Re-checking at …" message), the re-check round runs only the tempfailed
 * cases once the delay has passed (`resumed`, case results, `server-done`) and the check ends
 * `done` with the real verdict: an open relay for the open Postfix, not an open relay for the
 * closed one. The JSON keeps each case's earlier try. The per-server probe limit is 1 here: a
 * re-check that counted against it would be refused and leave the check inconclusive. Postfix's
 * log shows no DATA.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { postfixAvailable, startPostfix, type PostfixInstance, type PostfixPreset } from "@/tests/support/postfix";
import { postgreyAvailable, startPostgrey, type PostgreyInstance } from "@/tests/support/postgrey";
import { requireOrSkip } from "@/tests/support/require";
import { isTerminal, readEvents } from "./read-events";
import { bodyOf, createApiClient, type ApiClient } from "./api-client";

const postfix = postfixAvailable();
const postgrey = postgreyAvailable();
const available = postfix.ok && postgrey.ok;
/** postgrey's delay; the first round comes after it, the in-probe retry (100 ms) before it. */
const GREYLIST_SECONDS = 8;

let dns: LocalDnsServer | undefined;
let service: RunningService | undefined;
let api: ApiClient;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  if (!available) return;
  dns = await startDnsServer({});
  service = await startService({
    dnsServers: [dns.address],
    env: {
      RECHECK_DELAYS_SECONDS: "11,22",
      RELAYCHECK_RETRY_PAUSE_MS: "100",
      // One probe per server address: the re-check must not count, or it would be refused.
      RATE_LIMIT_SERVER_POINTS: "1",
    },
  });
  api = await createApiClient(service.baseUrl);
}, 120_000);

afterAll(async () => {
  await service?.stop();
  for (const stop of stops.reverse()) await stop();
  await dns?.close();
});

/** A Postfix of `preset` whose relay restrictions ask a fresh postgrey first. */
async function greylisted(preset: PostfixPreset, greyHost: string): Promise<{ pf: PostfixInstance; grey: PostgreyInstance }> {
  const grey = await startPostgrey({ host: greyHost, delaySeconds: GREYLIST_SECONDS });
  stops.push(() => grey.close());
  const pf = await startPostfix({
    preset,
    main: { smtpd_relay_restrictions: `check_policy_service inet:${grey.address}, permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination` },
  });
  stops.push(() => pf.close());
  return { pf, grey };
}

async function checkThroughRecheck(pf: PostfixInstance, client: string) {
  const headers = { "x-forwarded-for": client };
  const created = await api.post("/api/v1/checks", { body: { target: pf.host }, headers });
  if (created.status !== 202) throw new Error(`POST answered ${created.status}:\n${service!.logs().slice(-4000)}`);
  const { id } = bodyOf(created, 202);
  const { events, closedByServer } = await readEvents(`${service!.baseUrl}/api/v1/checks/${id}/events`, { headers, until: isTerminal });
  const view = bodyOf(await api.get("/api/v1/checks/{id}", { path: { id }, headers }), 200);
  return { id, events, closedByServer, view };
}

describe("greylisting: the automatic re-check", () => {
  it("finds the open relay behind postgrey after the re-check, and the closed server closed", async (ctx) => {
    requireOrSkip(ctx, postfix);
    requireOrSkip(ctx, postgrey);
    const open = await greylisted("open", "127.0.0.60");
    const closed = await greylisted("closed", "127.0.0.61");
    const [o, c] = await Promise.all([checkThroughRecheck(open.pf, "198.51.100.91"), checkThroughRecheck(closed.pf, "198.51.100.92")]);

    for (const [run, verdict] of [
      [o, "open-relay"],
      [c, "not-open-relay"],
    ] as const) {
      const types = run.events.map((e) => e.type);
      const waiting = types.indexOf("waiting");
      const resumed = types.lastIndexOf("resumed");
      // One stream: the first probe, the wait, the round, the end.
      expect(waiting, `${run.view.verdict}: ${run.view.reason}\n${run.view.servers[0]?.cases.map((x) => `${x.id} ${x.outcome} ${x.reply?.code} ${x.attempts} ${x.note}`).join("\n")}`).toBeGreaterThan(0);
      expect(resumed).toBeGreaterThan(waiting);
      expect(types.slice(resumed).filter((t) => t === "case-result").length).toBeGreaterThan(0);
      expect(types.slice(resumed)).toContain("server-done");
      expect(types.at(-1)).toBe("done");
      // Usually one round; on a slow machine the last triples postgrey saw may need the second.
      const rounds = types.filter((t) => t === "waiting").length;
      expect(rounds).toBeGreaterThanOrEqual(1);
      expect(rounds).toBeLessThanOrEqual(2);
      expect(types.filter((t) => t === "resumed")).toHaveLength(rounds);
      const wait = run.events[waiting]!.data as unknown as { wait: { reason: string; round: number; until: string; message: string }; report: { verdict: string } };
      expect(wait.wait).toMatchObject({ reason: "recheck", round: 1, servers: [`${run.view.servers[0]!.ip}:25`] });
      expect(wait.wait.message).toMatch(/^Re-checking at \d\d:\d\d UTC \(greylisting\): \d+ cases got a temporary refusal\.$/);
      expect(wait.report.verdict).toBe("inconclusive");

      expect(run.view.status).toBe("done");
      expect(run.view.verdict, run.view.reason ?? "").toBe(verdict);
      const server = run.view.servers[0]!;
      expect(server.status).toBe("ok");
      const third = server.cases.find((x) => x.id === "third-party")!;
      expect(third).toMatchObject({ outcome: verdict === "open-relay" ? "accepted" : "rejected" });
      expect(third.recheck?.round).toBeGreaterThanOrEqual(1);
      expect(third.earlier).toHaveLength(third.recheck!.round);
      expect(third.earlier![0]).toMatchObject({ round: 0, outcome: "tempfail", reply: { code: 450, text: expect.stringContaining("Greylisted") } });
      // The round's sessions come after the first probe's; the transcript says where it starts.
      expect(third.session!).toBeGreaterThan(third.earlier![0]!.session!);
      expect(server.transcript.some((l) => l.dir === "info" && /^re-check round 1 at /.test(l.line))).toBe(true);
      expect(server.transcript.filter((l) => l.dir === "client" && /^(DATA|BDAT)\b/i.test(l.line))).toEqual([]);
    }
    // postgrey saw the retries pass; Postfix never got DATA.
    for (const { pf, grey } of [open, closed]) {
      expect(grey.log()).toMatch(/action=pass, reason=triplet found/);
      const maillog = await pf.maillog();
      expect(maillog).not.toMatch(/\b(data|bdat)=\d/);
      expect(maillog).not.toMatch(/status=(sent|deferred|bounced)|queued as/);
    }
  }, 90_000);
});
