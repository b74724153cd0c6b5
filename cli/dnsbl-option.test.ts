/**
 * The CLI's --dnsbl option (and RELAYCHECK_DNSBLS) against a local DNS server that lists the
 * fake's address on Spamhaus ZEN: the JSON carries servers[].dnsbl, the human report says
 * "LISTED", "off" asks nothing, an unknown zone is a usage error.
 */
import { once } from "node:events";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { BLOCKLISTS } from "../lib/probe";
import { main } from "./main";

let dns: LocalDnsServer;
let smtp: SMTPServer;
let port: number;
let stdout = "";
let stderr = "";

beforeAll(async () => {
  dns = await startDnsServer({ a: { "1.0.0.127.zen.spamhaus.org": ["127.0.0.2"] } });
  smtp = new SMTPServer({ disableReverseLookup: true, authOptional: true, disabledCommands: ["STARTTLS"], logger: false });
  smtp.listen(0, "127.0.0.1");
  await once(smtp.server, "listening");
  port = (smtp.server.address() as { port: number }).port;
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
});

afterAll(async () => {
  vi.restoreAllMocks();
  smtp.close();
  await dns.close();
});

const cli = (args: string[], env: Record<string, string> = {}) => {
  stdout = "";
  stderr = "";
  return main(["127.0.0.1", "-p", String(port), "--allow", "127.0.0.1/32", "--dns", dns.address, ...args], env);
};
const blocklistQuestions = () => dns.queries.filter((q) => BLOCKLISTS.some((l) => q.name.endsWith(`.${l.zone}`)));

describe("relaycheck --dnsbl", () => {
  it("asks the named zones and prints servers[].dnsbl in --json", async () => {
    await cli(["--dnsbl", "zen.spamhaus.org", "--json"]);
    const [server] = JSON.parse(stdout).servers;
    expect(server.dnsbl).toMatchObject({ subject: "127.0.0.1", listed: [{ zone: "zen.spamhaus.org", codes: ["127.0.0.2"] }], notListed: [], couldNotQuery: [], domains: [] });
  });

  it("says LISTED in the human report, from RELAYCHECK_DNSBLS", async () => {
    await cli([], { RELAYCHECK_DNSBLS: "zen.spamhaus.org" });
    expect(stdout).toContain("Blocklists: 127.0.0.1 LISTED on 1 of 1");
    expect(stdout).toContain("delisting: https://check.spamhaus.org/");
  });

  it("off: no dnsbl field and no blocklist question", async () => {
    const before = blocklistQuestions().length;
    expect(before).toBeGreaterThan(0);
    await cli(["--dnsbl", "off", "--json"]);
    expect(JSON.parse(stdout).servers[0].dnsbl).toBeUndefined();
    expect(blocklistQuestions().length).toBe(before);
  });

  it("an unknown zone is a usage error", async () => {
    expect(await cli(["--dnsbl", "rbl.example"])).toBe(3);
    expect(stderr).toMatch(/--dnsbl: unknown blocklist zone "rbl\.example"/);
  });
});
