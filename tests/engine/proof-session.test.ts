/**
 * The proof session (lib/probe/send-proof-message.ts), byte-exact against a raw SMTP server of
 * the test's own: exactly one DATA, the message dot-stuffed with CRLF line ends only, ended by
 * "." alone; nothing after a refused RCPT; a silent server ends in a timeout, not a hang; the
 * abort signal stops it. And the fixed message carries nothing of the user's but the target.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { proofMessageLines, sendProofMessage } from "@/lib/probe/send-proof-message";
import { DEFAULT_LIMITS } from "@/lib/probe/options";
import { FAST_TIMEOUTS } from "./helpers";

const HOST = "127.0.0.85";

interface Recorder {
  port: number;
  /** Every byte the client sent. */
  raw: () => string;
  close: () => Promise<void>;
}

/** A raw SMTP server: 250 to everything, `rcptCode` to RCPT, 354 to DATA, or silence after the greeting. */
async function startRecorder(o: { rcptCode?: number; silent?: boolean } = {}): Promise<Recorder> {
  let raw = "";
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.write("220 fake.test ESMTP\r\n");
    let inData = false;
    let buf = "";
    socket.on("data", (chunk: Buffer) => {
      raw += chunk.toString("latin1");
      if (o.silent) return;
      buf += chunk.toString("latin1");
      for (;;) {
        if (inData) {
          const end = buf.indexOf("\r\n.\r\n");
          if (end < 0) return;
          buf = buf.slice(end + 5);
          inData = false;
          socket.write("250 2.0.0 Ok: queued as ABC123\r\n");
          continue;
        }
        const nl = buf.indexOf("\r\n");
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.split(/[ :]/)[0]!.toUpperCase();
        if (verb === "EHLO") socket.write("250-fake.test\r\n250 PIPELINING\r\n");
        else if (verb === "RCPT") socket.write(`${o.rcptCode ?? 250} rcpt\r\n`);
        else if (verb === "DATA") {
          socket.write("354 go ahead\r\n");
          inData = true;
        } else if (verb === "QUIT") socket.end("221 bye\r\n");
        else socket.write("250 ok\r\n");
      }
    });
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    raw: () => raw,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let recorder: Recorder | undefined;
afterEach(async () => {
  await recorder?.close();
  recorder = undefined;
});

const message = [...proofMessageLines({ targetName: "mx.example.test", reportUrl: "http://127.0.0.1:3000/checks/abc", from: "relaycheck@relaycheck.invalid", to: "t@sink.test", messageIdDomain: "relaycheck.invalid" }), ".a line that starts with a dot", "."];

function input(port: number, extra: Partial<Parameters<typeof sendProofMessage>[0]> = {}) {
  return {
    ip: HOST,
    port,
    servername: null,
    implicitTls: false,
    ehloName: "relaycheck.invalid",
    starttls: false,
    mailFrom: "relaycheck@relaycheck.invalid",
    rcptTo: "0123456789abcdef0123456789abcdef%sink.test@fake.test",
    message,
    timeouts: { ...FAST_TIMEOUTS, rateLimitWaitMs: 0 },
    limits: DEFAULT_LIMITS,
    ...extra,
  };
}

describe("the proof session", () => {
  it("sends exactly one message: one DATA, dot-stuffed, CRLF only, ended by a lone dot", async () => {
    recorder = await startRecorder();
    const result = await sendProofMessage(input(recorder.port));
    expect(result.outcome).toBe("sent");
    expect(result.reply).toMatchObject({ code: 250 });
    expect(result.sentAt).not.toBeNull();
    const raw = recorder.raw();
    expect(raw.match(/^DATA\r$/gm)).toHaveLength(1);
    expect(raw).toContain("RCPT TO:<0123456789abcdef0123456789abcdef%sink.test@fake.test>\r\n");
    // No bare LF or CR anywhere: every LF follows a CR, every CR precedes an LF.
    expect(raw.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    expect(raw).toContain("\r\n..a line that starts with a dot\r\n..\r\n.\r\n");
    expect(raw).toContain("Auto-Submitted: auto-generated\r\n");
    expect(raw.trimEnd().endsWith("QUIT")).toBe(true);
  });

  it("stops after a refused RCPT: no DATA", async () => {
    recorder = await startRecorder({ rcptCode: 554 });
    const result = await sendProofMessage(input(recorder.port));
    expect(result.outcome).toBe("refused");
    expect(result.detail).toMatch(/RCPT TO/);
    expect(recorder.raw()).not.toMatch(/DATA/);
  });

  it("a silent server ends in a timeout; the abort signal stops the session", async () => {
    recorder = await startRecorder({ silent: true });
    const slow = await sendProofMessage(input(recorder.port, { timeouts: { ...FAST_TIMEOUTS, commandMs: 200 } }));
    expect(slow.outcome).toBe("failed");
    expect(slow.detail).toMatch(/no complete reply within/);
    const aborted = await sendProofMessage(input(recorder.port, { signal: AbortSignal.timeout(100) }));
    expect(aborted.outcome).toBe("failed");
    expect(aborted.detail).toMatch(/cancelled/);
  });

  it("the message refuses anything but a validated target name and plain addresses", () => {
    const base = { reportUrl: "http://x.test/checks/a", from: "a@b.test", to: "t@sink.test", messageIdDomain: "b.test" };
    expect(() => proofMessageLines({ ...base, targetName: "evil.test\r\nBcc: x@y.test" })).toThrow(/target name/);
    expect(() => proofMessageLines({ ...base, targetName: "<b>x</b>" })).toThrow(/target name/);
    expect(() => proofMessageLines({ ...base, targetName: "mx.test", reportUrl: "http://x.test/\nBcc: y" })).toThrow(/report URL/);
    const lines = proofMessageLines({ ...base, targetName: "mx.test" });
    expect(lines.join("\n")).toMatch(/No action is needed/);
    expect(lines.join("\n")).toContain("http://x.test/checks/a");
    for (const l of lines) expect(l).not.toMatch(/[\r\n]/);
  });
});
