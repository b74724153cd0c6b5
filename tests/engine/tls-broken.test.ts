/**
 * A server that demands STARTTLS (530 at MAIL) but whose TLS is broken: the engine reports the
 * TLS failure, goes on in plaintext once, takes the 530s as refusals and does not loop between
 * TLS and plaintext sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "@/lib/probe";
import { startLineServer, verbOf, type LineServer } from "@/tests/fakes/line-server";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { FAST_TIMEOUTS, loopbackPolicy, onlyServer } from "./helpers";

describe("STARTTLS required, TLS broken", () => {
  let server: LineServer;
  let dns: LocalDnsServer;

  beforeAll(async () => {
    dns = await startDnsServer({});
    server = await startLineServer({
      greeting: "220 broken.tls.test ESMTP",
      // The client's ClientHello is answered in plaintext, as a misconfigured TLS proxy would.
      onRaw: (_chunk, { socket }) => void socket.end("this is not TLS\r\n"),
      onLine: (line, conn) => {
        const { socket } = conn;
        const verb = verbOf(line);
        if (verb === "EHLO") socket.write("250-broken.tls.test\r\n250 STARTTLS\r\n");
        else if (verb === "STARTTLS") {
          conn.state.raw = true;
          socket.write("220 2.0.0 Ready to start TLS\r\n");
        } else if (verb === "MAIL") socket.write("530 5.7.0 Must issue a STARTTLS command first\r\n");
        else if (verb === "QUIT") socket.end("221 2.0.0 Bye\r\n");
        else if (verb === "RSET") socket.write("250 2.0.0 Ok\r\n");
        else socket.write("502 5.5.2 Error: command not recognized\r\n");
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await dns.close();
  });

  it("reports the TLS failure, refuses to loop, and is inconclusive (no sender accepted)", async () => {
    const report = await probe(server.host, { ports: [server.port], dnsServers: [dns.address], addressPolicy: loopbackPolicy([server.port]), timeouts: FAST_TIMEOUTS });
    const s = onlyServer(report);
    expect(s.tls?.error).toMatch(/TLS handshake failed/);
    expect(s.findings.map((f) => f.id)).toContain("tls-failed");
    expect(s.baseline.senderAccepted).toBe(false);
    expect(report.verdict).toBe("inconclusive");
    expect(report.reason).toMatch(/refused every sender/);
    expect(server.connections()).toBeLessThanOrEqual(3);
  });
});
