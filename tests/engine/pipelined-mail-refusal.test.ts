/**
 * With PIPELINING, MAIL, RCPT and RSET go out together for a sender the server accepted before.
 * If the server then refuses MAIL after all, the RCPT draws a "503 need MAIL": the case is
 * decided by the MAIL refusal, at stage "mail", never by the 503.
 */
import net from "node:net";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { caseById, FAST_TIMEOUTS, loopbackPolicy, onlyServer } from "./helpers";
import { probe } from "@/lib/probe";

describe("a MAIL refused inside a pipelined group", () => {
  let server: net.Server;
  let dns: LocalDnsServer;
  let port: number;

  beforeAll(async () => {
    dns = await startDnsServer({});
    server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.write("220 slow.pipe.test ESMTP\r\n");
      let mails = 0;
      let inTransaction = false;
      let buffer = "";
      socket.on("data", (chunk) => {
        buffer += chunk.toString("latin1");
        const out: string[] = [];
        for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
          const line = buffer.slice(0, i).trim();
          buffer = buffer.slice(i + 1);
          const verb = line.split(/[ :]/)[0]!.toUpperCase();
          if (verb === "EHLO") out.push("250-slow.pipe.test\r\n250 PIPELINING\r\n");
          else if (verb === "MAIL") {
            // The first MAIL of a session (the sender check) passes; later ones are rate limited.
            inTransaction = mails++ === 0;
            out.push(inTransaction ? "250 2.1.0 Ok\r\n" : "451 4.7.1 Sender rate limit, slow down\r\n");
          } else if (verb === "RCPT") out.push(inTransaction ? "554 5.7.1 Relay access denied\r\n" : "503 5.5.1 Error: need MAIL command\r\n");
          else if (verb === "RSET") {
            inTransaction = false;
            out.push("250 2.0.0 Ok\r\n");
          } else if (verb === "QUIT") {
            socket.end(out.join("") + "221 2.0.0 Bye\r\n");
            return;
          } else out.push("502 5.5.2 Error: command not recognized\r\n");
        }
        if (out.length) socket.write(out.join(""));
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

  it("records the 451 at MAIL as the decisive reply, not the 503", async () => {
    const report = await probe("127.0.0.1", { ports: [port], dnsServers: [dns.address], addressPolicy: loopbackPolicy([port]), timeouts: FAST_TIMEOUTS });
    const s = onlyServer(report);
    const trick = caseById(s, "percent-hack-ip-literal");
    expect(trick).toMatchObject({ outcome: "tempfail", stage: "mail", reply: { code: 451, enhanced: "4.7.1" } });
    expect(s.cases.filter((c) => c.reply?.code === 503)).toEqual([]);
  });
});
