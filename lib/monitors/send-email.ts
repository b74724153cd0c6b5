/**
 * One try of an alert email, through the operator's SMTP relay (SMTP_URL, nodemailer). A 5xx
 * answer will not get better and gives the delivery up; anything else (no connection, 4xx, a
 * timeout) is tried again.
 */
import nodemailer from "nodemailer";
import type { AlertEmail } from "./build-alert";
import type { SendResult } from "./send-webhook";

/** nodemailer's waits (its defaults are minutes). */
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;

export interface EmailSettings {
  smtpUrl: string | null;
  from: string;
  /** Name given in EHLO (default: the machine's). */
  ehloName: string | null;
}

export async function sendAlertEmail(to: string, email: AlertEmail, settings: EmailSettings): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, "ms">): SendResult => ({ ...r, ms: Math.round(performance.now() - started) });
  if (!settings.smtpUrl) return done({ ok: false, statusCode: null, error: "this service sends no email: no SMTP relay is configured (SMTP_URL)", permanent: true });
  const transport = nodemailer.createTransport({
    url: settings.smtpUrl,
    ...(settings.ehloName ? { name: settings.ehloName } : {}),
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });
  try {
    await transport.sendMail({ from: settings.from, to, subject: email.subject, text: email.text });
    return done({ ok: true, statusCode: null, error: null, permanent: false });
  } catch (e) {
    const code = (e as { responseCode?: unknown }).responseCode;
    const statusCode = typeof code === "number" ? code : null;
    return done({ ok: false, statusCode, error: e instanceof Error ? e.message.slice(0, 500) : String(e), permanent: statusCode !== null && statusCode >= 500 });
  } finally {
    transport.close();
  }
}
