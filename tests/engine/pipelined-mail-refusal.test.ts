/**
 * With PIPELINING, MAIL, RCPT and RSET go out together for a sender the server accepted before.
 * If the server then refuses MAIL after all, the RCPT draws a "503 need MAIL": the case is
 * decided by the MAIL refusal, at stage "mail", never by the 503.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "@/lib/probe";
import { startLineServer, verbOf, type LineServer } from "@/tests/fakes/line-server";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { FAST_TIMEOUTS, loopbackPolicy, onlyServer } from "./helpers";

describe("a MAIL refused inside a pipelined group", () => {
  let server: LineServer;
  let dns: LocalDnsServer;

  beforeAll(async () => {
    dns = await startDnsServer({});
    server = await startLineServer({
      greeting: "220 slow.pipe.test ESMTP",
      onLine: (line, { socket, state }) => {
        const verb = verbOf(line);
        if (verb === "EHLO") socket.write("250-slow.pipe.test\r\n250 PIPELINING\r\n");
        else if (verb === "MAIL") {
          // The first MAIL of a session (the sender check) passes; later ones are rate limited.
          state.mails = Number(state.mails ?? 0) + 1;
          state.open = state.mails === 1;
          socket.write(state.open ? "250 2.1.0 Ok\r\n" : "451 4.7.1 Sender rate limit, slow down\r\n");
        } else if (verb === "RCPT") socket.write(state.open ? "554 5.7.1 Relay access denied\r\n" : "503 5.5.1 Error: need MAIL command\r\n");
        else if (verb === "RSET") {
          state.open = false;
          socket.write("250 2.0.0 Ok\r\n");
        } else if (verb === "QUIT") socket.end("221 2.0.0 Bye\r\n");
        else socket.write("502 5.5.2 Error: command not recognized\r\n");
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await dns.close();
  });

  it("records the 451 at MAIL as the decisive reply, not the 503", async () => {
    const report = await probe(server.host, { ports: [server.port], dnsServers: [dns.address], addressPolicy: loopbackPolicy([server.port]), timeouts: FAST_TIMEOUTS });
    const s = onlyServer(report);
    // Each such case is retried once in a later session, where it may be that session's first
    // MAIL (and pass): which ones stay refused depends on the order, so look at all of them.
    const atMail = s.cases.filter((c) => c.stage === "mail");
    expect(atMail.length).toBeGreaterThan(0);
    for (const c of atMail) expect(c, c.id).toMatchObject({ outcome: "tempfail", notRun: "sender-tempfail", reply: { code: 451, enhanced: "4.7.1" } });
    expect(s.cases.filter((c) => c.reply?.code === 503)).toEqual([]);
  });
});
