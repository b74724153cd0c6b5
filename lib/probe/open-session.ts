import { formatReply } from "./reply-parser";
import { SessionError, SmtpSession, type SessionOptions } from "./smtp-session";
import type { SmtpReply, TlsInfo } from "./types";

/** What the opening of a session learned about the server. */
export interface Opening {
  session: SmtpSession;
  greeting: SmtpReply;
  ehlo: SmtpReply;
  usedHelo: boolean;
  /** Extensions of the first EHLO (before any STARTTLS) and of the last one. */
  plainExtensions: string[];
  extensions: string[];
  starttlsOffered: boolean;
  tls: TlsInfo | null;
  timings: { connectMs: number; greetingMs: number; ehloMs: number; tlsMs: number | null };
  /** Replies of 4xx/5xx so far: servers count them (Postfix slows down after 10). */
  errors: number;
}

export type OpenResult =
  | { ok: true; opening: Opening }
  /** `tls` is set when the TLS handshake failed: a finding even if a later session works. */
  | { ok: false; error: SessionError; tls: TlsInfo | null };

export interface OpenParams extends SessionOptions {
  ehloName: string;
  /**
   * Upgrade with STARTTLS when the server offers it? Asked when the EHLO reply is in: another
   * session may have learned meanwhile that the server demands TLS.
   */
  wantStarttls: () => boolean;
  onConnected: () => void;
}

/**
 * Opens one SMTP session, up to the point where MAIL FROM may follow:
 * 1. connect (on port 465 the TLS handshake comes first);
 * 2. read the greeting, however long the server delays it: 220 goes on, 421 is "busy", any other
 *    code refuses the session;
 * 3. EHLO, or HELO when EHLO is not understood (500/502);
 * 4. STARTTLS when offered and wanted, then EHLO again (a refused STARTTLS goes on in plaintext).
 * A failure is returned, not thrown; the socket is closed then (politely after a refusal).
 */
export async function openSession(params: OpenParams): Promise<OpenResult> {
  const begin = performance.now();
  let session: SmtpSession | null = null;
  try {
    session = await SmtpSession.open(params);
    const connectMs = performance.now() - begin;
    params.onConnected();

    const greetingStart = performance.now();
    const greeting = await session.readGreeting();
    const greetingMs = performance.now() - greetingStart;
    if (greeting.code === 421) throw new SessionError("service-unavailable", formatReply(greeting), [greeting]);
    if (greeting.code !== 220) throw new SessionError("greeting-rejected", formatReply(greeting), [greeting]);

    const ehloStart = performance.now();
    let usedHelo = false;
    let errors = 0;
    let ehlo = await session.command(`EHLO ${params.ehloName}`);
    if (ehlo.code === 500 || ehlo.code === 502) {
      errors++;
      usedHelo = true;
      ehlo = await session.command(`HELO ${params.ehloName}`);
    }
    if (ehlo.code === 421) throw new SessionError("service-unavailable", formatReply(ehlo), [ehlo]);
    if (ehlo.code >= 300) throw new SessionError("greeting-rejected", `${usedHelo ? "HELO" : "EHLO"} refused: ${formatReply(ehlo)}`, [ehlo]);
    const ehloMs = performance.now() - ehloStart;

    const plainExtensions = usedHelo ? [] : parseExtensions(ehlo);
    let extensions = plainExtensions;
    const starttlsOffered = hasExtension(plainExtensions, "STARTTLS");
    let tlsMs: number | null = session.tlsInfo?.handshakeMs ?? null;
    if (!session.secure && starttlsOffered && params.wantStarttls()) {
      const tlsStart = performance.now();
      const go = await session.command("STARTTLS");
      if (go.code === 220) {
        await session.upgrade();
        ehlo = await session.command(`EHLO ${params.ehloName}`);
        if (ehlo.code >= 300) throw new SessionError(ehlo.code === 421 ? "service-unavailable" : "protocol-error", `EHLO after STARTTLS refused: ${formatReply(ehlo)}`, [ehlo]);
        extensions = parseExtensions(ehlo);
        tlsMs = performance.now() - tlsStart;
      } else {
        errors++;
        params.transcript.add(params.id, "info", `STARTTLS offered but refused (${formatReply(go)}); going on in plaintext`);
      }
    }
    const opening = { session, greeting, ehlo, usedHelo, plainExtensions, extensions, starttlsOffered, tls: session.tlsInfo, timings: { connectMs, greetingMs, ehloMs, tlsMs }, errors };
    return { ok: true, opening };
  } catch (err) {
    const error = err instanceof SessionError ? err : new SessionError("protocol-error", String(err));
    const tls = session?.tlsInfo?.error ? session.tlsInfo : null;
    if (session) {
      if (error.status === "greeting-rejected") await session.quit();
      else session.destroy();
    }
    return { ok: false, error, tls };
  }
}

export function parseExtensions(ehlo: SmtpReply): string[] {
  return ehlo.text.split("\n").slice(1).map((l) => l.trim()).filter(Boolean);
}

export function hasExtension(extensions: string[], name: string): boolean {
  return extensions.some((e) => e.toUpperCase() === name || e.toUpperCase().startsWith(`${name} `) || e.toUpperCase().startsWith(`${name}=`));
}
