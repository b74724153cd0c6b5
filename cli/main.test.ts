import { execFile } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { promisify } from "node:util";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "./main";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..");

/** A minimal smtp-server peer: relays for everyone or for its own domain only. */
async function startServer(open: boolean) {
  const received: string[] = [];
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, callback) {
      received.push(address.address);
      if (open || address.address.endsWith("@own.test")) return callback();
      callback(Object.assign(new Error("5.7.1 Relaying denied"), { responseCode: 554 }));
    },
    onData(_stream, _session, callback) {
      received.push("DATA");
      callback(new Error("no data here"));
    },
  });
  server.listen(0, "127.0.0.1");
  await once(server.server, "listening");
  return { server, received, port: (server.server.address() as { port: number }).port };
}

// Every lookup goes to a port where nothing answers on loopback: never the system resolver.
const quietDns = ["--dns", "127.0.0.1:9"];

describe("relaycheck CLI", () => {
  let open: Awaited<ReturnType<typeof startServer>>;
  let closed: Awaited<ReturnType<typeof startServer>>;
  let stdout: string;
  let stderr: string;

  beforeAll(async () => {
    open = await startServer(true);
    closed = await startServer(false);
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  });
  afterAll(() => {
    vi.restoreAllMocks();
    open.server.close();
    closed.server.close();
  });
  const cli = async (...args: string[]) => {
    stdout = "";
    stderr = "";
    return main(args, {});
  };

  it("exits 2 and prints a JSON report for an open relay", async () => {
    const code = await cli("127.0.0.1", "--port", String(open.port), "--allow", "127.0.0.0/8", ...quietDns, "--json");
    expect(code).toBe(2);
    const report = JSON.parse(stdout);
    expect(report.verdict).toBe("open-relay");
    expect(report.reason).toEqual(expect.any(String));
    const [server] = report.servers;
    expect(server).toMatchObject({ host: "127.0.0.1", ip: "127.0.0.1", port: open.port, verdict: "open-relay" });
    expect(server.banner).toEqual(expect.any(String));
    expect(server).toHaveProperty("tls");
    const plain = server.cases.find((c: { id: string }) => c.id === "third-party");
    expect(plain).toMatchObject({ mailFrom: "relaycheck@relaycheck.invalid", rcptTo: "relaytest@relay-target.invalid", outcome: "accepted", reply: { code: 250 } });
    expect(plain.reply).toHaveProperty("enhanced");
    expect(plain.reply).toHaveProperty("text");
    expect(server.transcript.length).toBeGreaterThan(10);
    // The advice, for machines: added fields, the report's own fields unchanged.
    expect(report.summary).toMatch(/^It relays mail for anyone/);
    expect(server.summary).toBe(report.summary);
    expect(server.advice.items[0]).toMatchObject({ id: "open-relay", severity: "critical", fix: { software: expect.any(String), steps: expect.any(Array) } });
    expect(server.advice.items[0].caseIds).toContain("third-party");
    expect(server.advice.items[0].fix.steps.length).toBeGreaterThan(1);
    expect(open.received).not.toContain("DATA");
  });

  it("prints a concise report by default: verdict, what to do, one line per reply, well under 40 lines", async () => {
    const code = await cli("127.0.0.1", "--port", String(open.port), "--allow", "127.0.0.0/8", ...quietDns);
    expect(code).toBe(2);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("OPEN RELAY  127.0.0.1");
    expect(stdout).toMatch(/^What to do/m);
    expect(stdout).toMatch(/^ {2}\[critical\] This server is an open relay/m);
    expect(stdout).toMatch(/^ {4}1\. /m);
    expect(stdout).toMatch(/^ {2}\d+ relayed +250 /m);
    // Ids are for machines: the sentences use words.
    expect(stdout).not.toMatch(/third-party|null-sender|sender-ip-literal/);
    expect(stdout).not.toContain("Transcript");
    expect(lines.length).toBeLessThan(40);
  });


  it("exits 0 with the verdict first for a closed server", async () => {
    const code = await cli("127.0.0.1", "-p", String(closed.port), "--allow", "127.0.0.1/32", ...quietDns, "--recipient-domain", "elsewhere.example.net");
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toBe("NOT AN OPEN RELAY  127.0.0.1");
    expect(stdout).toMatch(/^ {2}\d+ refused +554 5\.7\.1 Relaying denied$/m);
    expect(stdout).not.toContain("<relaytest@elsewhere.example.net>");
  });

  it("--verbose prints every case with its envelope, and the facts", async () => {
    const code = await cli("127.0.0.1", "-p", String(closed.port), "--allow", "127.0.0.1/32", ...quietDns, "--recipient-domain", "elsewhere.example.net", "--verbose");
    expect(code).toBe(0);
    expect(stdout).toContain("<relaytest@elsewhere.example.net>");
    expect(stdout).toContain("554 5.7.1 Relaying denied");
    expect(stdout).toMatch(/^ {2}Greeting: 220 /m);
    expect(stdout).toMatch(/relay attempts: none accepted/);
  });

  it("exits 3 when the policy refuses the address (no --allow)", async () => {
    const code = await cli("127.0.0.1", "-p", String(closed.port), ...quietDns, "--json");
    expect(code).toBe(3);
    expect(JSON.parse(stdout)).toMatchObject({ verdict: "unreachable", servers: [], resolution: { refused: [{ ip: "127.0.0.1" }] } });
  });

  it("takes allowed ranges from RELAYCHECK_ALLOW_TARGETS", async () => {
    stdout = "";
    const code = await main(["127.0.0.1", "-p", String(closed.port), ...quietDns, "--json"], { RELAYCHECK_ALLOW_TARGETS: "10.0.0.0/8, 127.0.0.0/8" });
    expect(code).toBe(0);
  });

  it("--retry-tempfail does nothing more for a server with no temporary refusal", async () => {
    const code = await cli("127.0.0.1", "-p", String(closed.port), "--allow", "127.0.0.1/32", ...quietDns, "--json", "--retry-tempfail", "600", "--retry-pause", "0", "--rate-limit-wait", "30");
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/re-checking/);
  });

  it.each([
    [[], /a target is required/],
    [["a.example", "b.example"], /one target at a time/],
    [["localhost"], /always means this machine/],
    [["example.com\r\nRCPT TO:<x@y>"], /control character/],
    [["127.0.0.1", "--port", "eighty"], /--port must be a port number/],
    [["127.0.0.1", "--timeout=-1"], /--timeout must be a number/],
    [["127.0.0.1", "--allow", "not-a-cidr"], /not-a-cidr/],
    [["127.0.0.1", "--bogus"], /Unknown option/],
    [["127.0.0.1", "--recipient-domain", "1.2.3.4"], /--recipient-domain must be a domain/],
    [["127.0.0.1", "--retry-tempfail", "0"], /--retry-tempfail must be a number of seconds/],
    [["127.0.0.1", "--retry-tempfail", "soon"], /--retry-tempfail must be a number of seconds/],
    [["127.0.0.1", "--retry-pause=-1"], /--retry-pause must be a number of seconds from 0 to 600/],
    [["127.0.0.1", "--rate-limit-wait", "1e9"], /--rate-limit-wait must be a number of seconds from 0 to 3600/],
    [["127.0.0.1", "--rate-limit-wait", "120"], /--rate-limit-wait \(120 s\) must be shorter than --max-time \(90 s\)/],
  ])("usage error %j exits 3 and says what is wrong", async (args, message) => {
    expect(await cli(...args)).toBe(3);
    expect(stderr).toMatch(message);
    expect(stdout).toBe("");
  });

  it("runs from the package bin as a separate process", async () => {
    const bin = path.join(root, "bin/relaycheck.mjs");
    const result = await run(process.execPath, [bin, "127.0.0.1", "-p", String(closed.port), "--allow", "127.0.0.0/8", ...quietDns, "--json"], { cwd: root, timeout: 30_000 }).catch((e) => e);
    expect(result.code ?? 0).toBe(0);
    expect(JSON.parse(result.stdout).verdict).toBe("not-open-relay");
  });
});
