import { hasExtension, type Opening } from "./open-session";
import { formatReply } from "./reply-parser";
import { SessionError } from "./smtp-session";
import type { SmtpReply } from "./types";

/** What the search for an accepted sender found. */
export type SenderSearch =
  /** `sender` is null when the server refused every candidate at MAIL FROM. */
  | { kind: "found"; sender: string | null }
  /** The session ended (or said 421) before the search was over. */
  | { kind: "dropped" }
  /** 530 "Must issue a STARTTLS command first": search again over TLS. */
  | { kind: "needs-tls" };

/** What one case got on the wire. */
export type CaseRun =
  | {
      kind: "answered";
      /** Where the outcome was decided: a refused MAIL decides, else the RCPT reply. */
      stage: "mail" | "rcpt";
      reply: SmtpReply;
      mailReply: SmtpReply;
      durationMs: number;
      session: number;
      tls: boolean;
      /** False when the session ended after the decisive reply. */
      alive: boolean;
    }
  /** The session ended, or said 421, before the decisive reply: the case goes back to the queue. */
  | { kind: "dropped"; why: string }
  /** 530 before STARTTLS: the server relays, if at all, only over TLS. */
  | { kind: "needs-tls"; why: string };

/**
 * Step 2 of a probe: MAIL FROM each candidate in turn (ours, then the null sender) until one is
 * accepted, then RSET. Each refusal costs the server one error (counted on the opening).
 * `tlsBroken`: TLS already failed here, so a 530 is the server refusing us, not a way forward.
 */
export async function findSender(opening: Opening, candidates: string[], tlsBroken: boolean): Promise<SenderSearch> {
  const { session } = opening;
  try {
    for (const candidate of candidates) {
      const reply = await session.command(`MAIL FROM:<${candidate}>`);
      if (reply.code === 421) return { kind: "dropped" };
      if (demandsTls(opening, reply, tlsBroken)) return { kind: "needs-tls" };
      if (reply.code >= 200 && reply.code < 300) {
        await session.command("RSET");
        return { kind: "found", sender: candidate };
      }
      opening.errors++;
    }
  } catch {
    return { kind: "dropped" };
  }
  return { kind: "found", sender: null };
}

/**
 * One case, MAIL FROM then RCPT TO, and RSET unless it is the session's last:
 * - with PIPELINING and a sender the server accepted before, the three go out in one write;
 * - an untried sender goes alone, so no RCPT follows a refused MAIL (Postfix counts the 503 as one
 *   more error); RCPT and RSET are then pipelined where offered;
 * - a refused MAIL decides the case, even when a pipelined RCPT drew a 503 after it;
 * - the decisive reply may come before the session ends: it still decides.
 * Never more than MAIL and RCPT: no DATA.
 */
export async function runCase(opening: Opening, mailFrom: string, rcptTo: string, options: { last: boolean; senderKnown: boolean; tlsBroken: boolean }): Promise<CaseRun> {
  const { session } = opening;
  const pipelining = hasExtension(opening.extensions, "PIPELINING");
  const mailCmd = `MAIL FROM:<${mailFrom}>`;
  const rcptCmd = `RCPT TO:<${rcptTo}>`;
  const begin = performance.now();
  const where = { session: session.id, tls: session.secure };
  const answered = (mailReply: SmtpReply, rcptReply: SmtpReply | undefined, alive: boolean): CaseRun => {
    const atMail = mailReply.code >= 300 || !rcptReply;
    const durationMs = Math.round((performance.now() - begin) * 100) / 100;
    return { kind: "answered", stage: atMail ? "mail" : "rcpt", reply: atMail ? mailReply : rcptReply, mailReply, durationMs, ...where, alive };
  };
  let mail: SmtpReply | undefined;
  let rcpt: SmtpReply | undefined;
  try {
    if (pipelining && options.senderKnown) {
      const replies = await session.pipeline(options.last ? [mailCmd, rcptCmd] : [mailCmd, rcptCmd, "RSET"]).catch((e: unknown) => {
        if (e instanceof SessionError) [mail, rcpt] = e.replies;
        throw e;
      });
      [mail, rcpt] = replies;
    } else {
      mail = await session.command(mailCmd);
      if (mail.code >= 200 && mail.code < 300) {
        const rest = pipelining && !options.last ? [rcptCmd, "RSET"] : [rcptCmd];
        const replies = await session.pipeline(rest).catch((e: unknown) => {
          if (e instanceof SessionError) [rcpt] = e.replies;
          throw e;
        });
        rcpt = replies[0];
        if (!pipelining && !options.last) await session.command("RSET");
      }
    }
  } catch (err) {
    if (!(err instanceof SessionError)) throw err;
    if (mail && mail.code !== 421 && (mail.code >= 300 || (rcpt && rcpt.code !== 421))) {
      if (mail.code >= 300) opening.errors++;
      return answered(mail, rcpt, false);
    }
    return { kind: "dropped", why: err.message };
  }
  mail = mail!;
  if (mail.code === 421 || rcpt?.code === 421) return { kind: "dropped", why: formatReply(rcpt?.code === 421 ? rcpt : mail) };
  if (demandsTls(opening, mail, options.tlsBroken)) return { kind: "needs-tls", why: formatReply(mail) };
  if (mail.code >= 300) opening.errors++;
  if (rcpt && rcpt.code >= 300) opening.errors++;
  return answered(mail, rcpt, true);
}

/** "Must issue a STARTTLS command first" on a plaintext session that could upgrade. */
function demandsTls(opening: Opening, reply: SmtpReply, tlsBroken: boolean): boolean {
  return reply.code === 530 && !opening.session.secure && opening.starttlsOffered && !tlsBroken;
}
