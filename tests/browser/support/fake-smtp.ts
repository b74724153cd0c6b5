/**
 * Small `smtp-server` fakes for the browser tests, each on its own loopback address, port 25:
 * - "open": accepts every sender and recipient (an open relay), offers STARTTLS;
 * - "closed": accepts recipients at its own address literal only, refuses relaying with 554;
 * - "greylisting": answers every recipient with 450 (temporary failure).
 * `replyDelayMs` slows each RCPT reply so a test can watch the cases arrive one by one.
 * Nothing is ever delivered: the fakes count DATA attempts so a test can assert there were none.
 */
import { SMTPServer, type SMTPServerAddress, type SMTPServerOptions } from "smtp-server";
import { selfSignedCert } from "@/tests/fakes/tls-cert";

export type FakeBehaviour = "open" | "closed" | "greylisting";

export interface BrowserFake {
  host: string;
  port: number;
  dataAttempts: number;
  close(): Promise<void>;
}

export interface FakeOptions {
  host: string;
  behaviour: FakeBehaviour;
  banner?: string;
  replyDelayMs?: number;
  port?: number;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function decide(behaviour: FakeBehaviour, host: string, rcpt: SMTPServerAddress): Error | null {
  if (behaviour === "open") return null;
  if (behaviour === "greylisting") return smtpError(450, `4.2.0 <${rcpt.address}>: Recipient address rejected: Greylisted, try again later`);
  const local = rcpt.address.toLowerCase() === `postmaster@[${host}]`;
  return local ? null : smtpError(554, `5.7.1 <${rcpt.address}>: Relay access denied`);
}

export async function startFakeSmtp(opts: FakeOptions): Promise<BrowserFake> {
  const port = opts.port ?? 25;
  const name = `${opts.behaviour}.fake.test`;
  const state = { dataAttempts: 0 };
  const tls = opts.behaviour === "open" ? selfSignedCert(name) : null;
  const options: SMTPServerOptions = {
    name,
    banner: opts.banner ?? `${name} ESMTP fake`,
    disableReverseLookup: true,
    authOptional: true,
    logger: false,
    disabledCommands: tls ? ["AUTH"] : ["AUTH", "STARTTLS"],
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    onRcptTo(address, _session, callback) {
      const reply = () => callback(decide(opts.behaviour, opts.host, address));
      if (opts.replyDelayMs) setTimeout(reply, opts.replyDelayMs);
      else reply();
    },
    onData(stream, _session, callback) {
      state.dataAttempts++;
      stream.resume();
      stream.on("end", () => callback(smtpError(554, "5.7.1 test servers accept no mail")));
    },
  };
  const server = new SMTPServer(options);
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(port, opts.host, () => resolve());
  });
  return {
    host: opts.host,
    port,
    get dataAttempts() {
      return state.dataAttempts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
