/**
 * A server that demands STARTTLS (530 at MAIL) but whose TLS is broken: the engine reports the
 * TLS failure, goes on in plaintext once, takes the 530s as refusals and does not loop between
 * TLS and plaintext sessions.
 */
import net from "node:net";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { FAST_TIMEOUTS, loopbackPolicy, onlyServer } from "./helpers";
import { probe } from "@/lib/probe";

describe("STARTTLS required, TLS broken", () => {
  let server: net.Server;
  let dns: LocalDnsServer;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    dns = await startDnsServer({});
    server = net.createServer((socket) => {
      connections++;
      socket.on("error", () => {});
      socket.write("220 broken.tls.test ESMTP\r\n");
      let buffer = "";
      let handshaking = false;
      socket.on("data", (chunk) => {
        if (handshaking) {
          // The client's ClientHello: answer with plaintext, as a misconfigured TLS proxy would.
          socket.end("this is not TLS\r\n");
          return;
        }
        buffer += chunk.toString("latin1");
        for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
          const line = buffer.slice(0, i).trim();
          buffer = buffer.slice(i + 1);
          const verb = line.split(/[ :]/)[0]!.toUpperCase();
          if (verb === "EHLO") socket.write("250-broken.tls.test\r\n250 STARTTLS\r\n");
          else if (verb === "STARTTLS") {
            handshaking = true;
            socket.write("220 2.0.0 Ready to start TLS\r\n");
          }
          else if (verb === "MAIL") socket.write("530 5.7.0 Must issue a STARTTLS command first\r\n");
          else if (verb === "QUIT") socket.end("221 2.0.0 Bye\r\n");
          else if (verb === "RSET") socket.write("250 2.0.0 Ok\r\n");
          else if (/^[A-Z]+$/.test(verb)) socket.write("502 5.5.2 Error: command not recognized\r\n");
        }
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    server.close();
    await dns.close();
  });

  it("reports the TLS failure, refuses to loop, and is inconclusive (no sender accepted)", async () => {
    const report = await probe("127.0.0.1", { ports: [port], dnsServers: [dns.address], addressPolicy: loopbackPolicy([port]), timeouts: FAST_TIMEOUTS });
    const s = onlyServer(report);
    expect(s.tls?.error).toMatch(/TLS handshake failed/);
    expect(s.findings.map((f) => f.id)).toContain("tls-failed");
    expect(s.baseline.senderAccepted).toBe(false);
    expect(report.verdict).toBe("inconclusive");
    expect(report.reason).toMatch(/refused every sender/);
    expect(connections).toBeLessThanOrEqual(3);
  });
});
