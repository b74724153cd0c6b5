/**
 * Port 465 (implicit TLS, RFC 8314): the TLS handshake comes first, before the greeting; the
 * report records mode, protocol and certificate, and no "no STARTTLS" finding applies.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "@/lib/probe";
import { startLineServer, verbOf, type LineServer } from "@/tests/fakes/line-server";
import { selfSignedCert } from "@/tests/fakes/tls-cert";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { caseById, FAST_TIMEOUTS, loopbackPolicy, onlyServer } from "./helpers";

describe("implicit TLS on port 465", () => {
  let server: LineServer;
  let dns: LocalDnsServer;
  const commands: string[] = [];

  beforeAll(async () => {
    dns = await startDnsServer({});
    server = await startLineServer({
      host: "127.0.0.36",
      port: 465,
      tls: selfSignedCert("smtps.tls.test"),
      greeting: "220 smtps.tls.test ESMTP implicit",
      onLine: (line, { socket }) => {
        commands.push(line);
        const verb = verbOf(line);
        if (verb === "EHLO") socket.write("250-smtps.tls.test\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n");
        else if (verb === "MAIL" || verb === "RSET") socket.write("250 2.0.0 Ok\r\n");
        else if (verb === "RCPT") socket.write(/postmaster@/i.test(line) ? "250 2.1.5 Ok\r\n" : "554 5.7.1 Relay access denied\r\n");
        else if (verb === "QUIT") socket.end("221 2.0.0 Bye\r\n");
        else socket.write("502 5.5.2 Error: command not recognized\r\n");
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await dns.close();
  });

  it("handshakes first, then talks SMTP over TLS; AUTH over TLS is no finding", async () => {
    const report = await probe(server.host, { ports: [465], dnsServers: [dns.address], addressPolicy: loopbackPolicy([465]), timeouts: FAST_TIMEOUTS });
    const s = onlyServer(report);
    expect(report.verdict).toBe("not-open-relay");
    expect(s.tls).toMatchObject({ mode: "implicit", protocol: expect.stringMatching(/^TLSv1\.[23]$/), subject: expect.stringContaining("smtps.tls.test"), selfSigned: true });
    expect(s.banner).toBe("smtps.tls.test ESMTP implicit");
    expect(s.sessions.every((x) => x.tls)).toBe(true);
    expect(caseById(s, "third-party")).toMatchObject({ outcome: "rejected", tls: true });
    expect(s.auth).toEqual({ mechanisms: ["PLAIN", "LOGIN"], offeredBeforeTls: false });
    expect(s.findings.map((f) => f.id)).not.toContain("no-starttls");
    expect(s.findings.map((f) => f.id)).not.toContain("auth-before-tls");
    expect(commands).not.toContain("STARTTLS");
    expect(commands.some((c) => /^DATA/i.test(c))).toBe(false);
  });
});
