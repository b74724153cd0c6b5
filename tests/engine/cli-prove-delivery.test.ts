/**
 * The CLI's proof by delivery against real Postfix: `--prove-delivery-to x@sink.test
 * --sink-listen host:port` runs the sink in the CLI, sends one message through the open relay
 * (routed by Postfix's transport_maps to that sink), waits for it and reports "proven"; without
 * --sink-listen the message goes to the operator's address with the token printed. A closed
 * Postfix gets no proof session.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "@/cli/main";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { postfixAvailable, startPostfix, type PostfixInstance } from "@/tests/support/postfix";
import { requireOrSkip } from "@/tests/support/require";
import { freePort } from "@/tests/support/service";

const available = postfixAvailable();
const SINK_HOST = "127.0.0.86";
let open: PostfixInstance | undefined;
let closed: PostfixInstance | undefined;
let dns: LocalDnsServer | undefined;
let sinkPort = 0;
let stdout = "";
let stderr = "";

beforeAll(async () => {
  if (!available.ok) return;
  sinkPort = await freePort();
  const transports = { "sink.test": `smtp:[${SINK_HOST}]:${sinkPort}` };
  [open, closed] = await Promise.all([
    startPostfix({ preset: "open", myhostname: "mx.cliopen.test", domain: "cliopen.test", transports }),
    startPostfix({ preset: "closed", myhostname: "mx.cliclosed.test", domain: "cliclosed.test", transports }),
  ]);
  dns = await startDnsServer({ ptr: { [open.host]: ["mx.cliopen.test"], [closed.host]: ["mx.cliclosed.test"] } });
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await Promise.all([open?.close(), closed?.close(), dns?.close()]);
});

const run = async (args: string[]) => {
  stdout = "";
  stderr = "";
  const code = await main([...args, "--dns", dns!.address, "--allow", "127.0.0.0/8", "--dnsbl", "off", "--json", "--timeout", "5"]);
  return { code, report: JSON.parse(stdout) as { verdict: string; reason: string; servers: { proof?: { status: string; detail: string; arrival: { received: string[] } | null } }[] } };
};

describe("relaycheck --prove-delivery-to (real Postfix)", () => {
  it("with --sink-listen: the message passes Postfix's queue to the CLI's own sink; open-relay proven", async (ctx) => {
    requireOrSkip(ctx, available);
    const { code, report } = await run(["--prove-delivery-to", "me@sink.test", "--sink-listen", `${SINK_HOST}:${sinkPort}`, "--delivery-wait", "30", open!.host]);
    expect(code).toBe(2);
    expect(report.verdict).toBe("open-relay");
    expect(report.reason).toMatch(/proven: delivered in/);
    const proof = report.servers[0]!.proof!;
    expect(proof.status).toBe("delivered");
    expect(proof.arrival!.received.some((r) => /by mx\.cliopen\.test/.test(r))).toBe(true);
    expect(stderr).toMatch(/look for the token [0-9a-f]{32}/);
  }, 60_000);

  it("without a sink: sent to the operator's address, the token printed; a closed server gets nothing", async (ctx) => {
    requireOrSkip(ctx, available);
    const sent = await run(["--prove-delivery-to", "me@mailbox.test", open!.host]);
    expect(sent.report.servers[0]!.proof!.status).toBe("sent");
    expect(stderr).toMatch(/RCPT TO:<me@mailbox\.test>; look for the token [0-9a-f]{32}/);
    const none = await run(["--prove-delivery-to", "me@mailbox.test", closed!.host]);
    expect(none.code).toBe(0);
    expect(none.report.servers[0]!.proof).toBeUndefined();
    expect(await closed!.maillog()).not.toMatch(/queued as|status=sent/);
  }, 60_000);

  it("--prove-delivery alone is a usage error", async () => {
    stderr = "";
    expect(await main(["--prove-delivery", "127.0.0.1", "--dns", "127.0.0.1:9"])).toBe(3);
    expect(stderr).toMatch(/--prove-delivery needs --prove-delivery-to/);
  });
});
