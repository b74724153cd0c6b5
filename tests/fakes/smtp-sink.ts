/**
 * An SMTP sink for the alert emails: nodemailer's smtp-server on a loopback address, no TLS, no
 * authentication, no reverse lookups; keeps every message it is given.
 */
import { SMTPServer } from "smtp-server";

export interface SunkMessage {
  from: string;
  to: string[];
  /** The whole message as received (headers and body). */
  raw: string;
}

export interface SmtpSink {
  host: string;
  port: number;
  messages: SunkMessage[];
  close(): Promise<void>;
}

export async function startSmtpSink(options: { host: string }): Promise<SmtpSink> {
  const messages: SunkMessage[] = [];
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, options.host, () => resolve());
  });
  const address = server.server.address() as { port: number };
  return { host: options.host, port: address.port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * A single-part text message's subject and body, decoded: enough MIME for the alert emails
 * (RFC 2047 encoded words in the subject; quoted-printable or base64 bodies).
 */
export function decodeMessage(raw: string): { subject: string; text: string } {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(head)?.[1] ?? "";
  const subject = header("Subject").replace(/=\?utf-8\?([qb])\?([^?]*)\?=\s*/gi, (_, enc: string, text: string) =>
    enc.toLowerCase() === "b" ? Buffer.from(text, "base64").toString("utf8") : decodeQuotedPrintable(text.replace(/_/g, " ")),
  );
  const encoding = header("Content-Transfer-Encoding").toLowerCase();
  const text = encoding === "quoted-printable" ? decodeQuotedPrintable(body.replace(/=\r\n/g, "")) : encoding === "base64" ? Buffer.from(body, "base64").toString("utf8") : body;
  return { subject, text: text.replace(/\r\n/g, "\n") };
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === "=" ? text.slice(i + 1, i + 3) : "";
    if (/^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}
