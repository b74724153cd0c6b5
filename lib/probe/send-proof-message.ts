/**
 * The proof session (issue 12): the one place that sends DATA. It sends exactly one message
 * through a server that accepted a relay case at RCPT, to relaycheck's own sink, so that its
 * arrival proves (or its absence fails to prove) that the server relays. The relay probe itself
 * never sends DATA; this is a separate, explicit function, called only by a proof step.
 *
 * 1. connect, greeting, EHLO (HELO), STARTTLS when offered (openSession, as the probe does);
 * 2. MAIL FROM:<the sender the server accepted>;
 * 3. RCPT TO:<the accepted form, its outside address replaced by the sink's token address>;
 *    anything but 250/251 ends the session: nothing is sent;
 * 4. DATA; on 354 the fixed message (proofMessageLines), dot-stuffed, CRLF only; its reply is
 *    the server's word that it took the message;
 * 5. QUIT.
 * Every wait has the engine's timeouts, a deadline and the abort signal; a failure is data.
 */
import { randomBytes } from "node:crypto";
import { openSession } from "./open-session";
import { formatReply } from "./reply-parser";
import { SessionError } from "./smtp-session";
import { Transcript } from "./transcript";
import type { ProbeLimits, ProbeOptions, ProbeTimeouts, ServerReport, SmtpReply, TranscriptLine } from "./types";

/** The proof session's own limit on its whole conversation. */
export const PROOF_SESSION_TOTAL_MS = 60_000;

export interface ProofMessageInput {
  ip: string;
  port: number;
  /** Host name for SNI; null for an IP target. */
  servername: string | null;
  implicitTls: boolean;
  ehloName: string;
  /** STARTTLS when offered (as the probe did). */
  starttls: boolean;
  mailFrom: string;
  rcptTo: string;
  /** The message, one line each, from proofMessageLines. */
  message: string[];
  timeouts: ProbeTimeouts;
  limits: ProbeLimits;
  signal?: AbortSignal;
}

/**
 * The proof session's input for one server, as the probe met it: its address, its name for SNI,
 * TLS as the probe used it, the sender it accepted. One place for the CLI and the worker.
 */
export function proofSessionInput(
  server: Pick<ServerReport, "ip" | "port" | "host">,
  envelope: { mailFrom: string; rcptTo: string; message: string[] },
  options: Pick<ProbeOptions, "ehloName" | "starttls" | "timeouts" | "limits">,
  signal?: AbortSignal,
): ProofMessageInput {
  return {
    ip: server.ip,
    port: server.port,
    servername: /^[0-9.]+$|:/.test(server.host) ? null : server.host,
    implicitTls: server.port === 465,
    ehloName: options.ehloName,
    starttls: options.starttls === "auto",
    ...envelope,
    timeouts: options.timeouts,
    limits: options.limits,
    ...(signal ? { signal } : {}),
  };
}

export type ProofSessionOutcome =
  /** The server took the message (its reply to the end of DATA was 250). */
  | "sent"
  /** The server refused MAIL, RCPT, DATA or the message: nothing was delivered by us. */
  | "refused"
  /** The session failed on the wire (connect, timeout, reset…). */
  | "failed";

export interface ProofSessionResult {
  outcome: ProofSessionOutcome;
  /** The reply that decided the outcome (the end-of-DATA reply when sent). */
  reply: Pick<SmtpReply, "code" | "enhanced" | "text"> | null;
  /** ISO time of the end-of-DATA reply, when sent. */
  sentAt: string | null;
  detail: string;
  transcript: TranscriptLine[];
}

const brief = (r: SmtpReply) => ({ code: r.code, enhanced: r.enhanced, text: r.text });

export async function sendProofMessage(input: ProofMessageInput): Promise<ProofSessionResult> {
  const transcript = new Transcript(performance.now(), input.limits.maxTranscriptLines, input.limits.maxTranscriptBytes);
  const deadline = performance.now() + Math.min(input.timeouts.serverTotalMs, PROOF_SESSION_TOTAL_MS);
  const opened = await openSession({
    ip: input.ip,
    port: input.port,
    servername: input.servername,
    implicitTls: input.implicitTls,
    id: 0,
    timeouts: input.timeouts,
    limits: input.limits,
    transcript,
    deadline,
    signal: input.signal,
    ehloName: input.ehloName,
    wantStarttls: () => input.starttls,
    onConnected: () => {},
  });
  if (!opened.ok) return { outcome: "failed", reply: null, sentAt: null, detail: `The proof session failed: ${opened.error.message}`, transcript: transcript.lines };
  const { session } = opened.opening;
  const refused = (what: string, reply: SmtpReply): ProofSessionResult => ({
    outcome: "refused",
    reply: brief(reply),
    sentAt: null,
    detail: `The server refused the proof message at ${what}: ${formatReply(reply)}`,
    transcript: transcript.lines,
  });
  try {
    const mail = await session.command(`MAIL FROM:<${input.mailFrom}>`);
    if (mail.code !== 250) return refused("MAIL FROM", mail);
    const rcpt = await session.command(`RCPT TO:<${input.rcptTo}>`);
    if (rcpt.code !== 250 && rcpt.code !== 251) return refused("RCPT TO", rcpt);
    const data = await session.command("DATA");
    if (data.code !== 354) return refused("DATA", data);
    const end = await session.sendMessage(input.message);
    if (end.code !== 250) return refused("the end of the message", end);
    return { outcome: "sent", reply: brief(end), sentAt: new Date().toISOString(), detail: `The server took the proof message: ${formatReply(end)}`, transcript: transcript.lines };
  } catch (err) {
    const message = err instanceof SessionError ? err.message : String(err);
    return { outcome: "failed", reply: null, sentAt: null, detail: `The proof session failed: ${message}`, transcript: transcript.lines };
  } finally {
    await session.quit();
  }
}

export interface ProofMessageParams {
  /** The validated target name (ASCII host name or IP): the only text from the user. */
  targetName: string;
  /** The report's permalink; none for a CLI run (the report is on the operator's terminal). */
  reportUrl: string | null;
  from: string;
  to: string;
  /** Host part of the Message-ID (the probe's EHLO name). */
  messageIdDomain: string;
  /** A token to look for (the CLI's proof to a mailbox of the operator's): shown in the subject and body. */
  token?: string;
  date?: Date;
}

const SAFE_TARGET = /^[A-Za-z0-9.:-]{1,253}$/;
const SAFE_URL = /^https?:\/\/[\x21-\x7e]{1,2000}$/;
const SAFE_ADDRESS = /^[\x21-\x7e]{0,512}$/;

/**
 * The fixed, harmless proof message: what it is, the report link, "no action needed". Nothing
 * in it comes from the user but the validated target name; a value that does not look as
 * validated is refused (thrown: a programming error, never sent).
 */
export function proofMessageLines(p: ProofMessageParams): string[] {
  if (!SAFE_TARGET.test(p.targetName)) throw new Error(`refusing a target name unfit for a proof message: ${JSON.stringify(p.targetName)}`);
  if (p.reportUrl !== null && !SAFE_URL.test(p.reportUrl)) throw new Error(`refusing a report URL unfit for a proof message: ${JSON.stringify(p.reportUrl)}`);
  for (const a of [p.from, p.to, p.messageIdDomain]) {
    if (!SAFE_ADDRESS.test(a)) throw new Error(`refusing an address unfit for a proof message: ${JSON.stringify(a)}`);
  }
  if (p.token !== undefined && !/^[0-9a-f]{32}$/.test(p.token)) throw new Error("refusing a token that is not 32 hex digits");
  const date = (p.date ?? new Date()).toUTCString().replace("GMT", "+0000");
  return [
    `From: relaycheck <${p.from || `relaycheck@${p.messageIdDomain}`}>`,
    `To: <${p.to}>`,
    `Subject: relaycheck proof of delivery for ${p.targetName}${p.token ? ` [${p.token}]` : ""}`,
    `Date: ${date}`,
    `Message-ID: <${randomBytes(12).toString("hex")}@${p.messageIdDomain}>`,
    "Auto-Submitted: auto-generated",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
    "Content-Transfer-Encoding: 7bit",
    "",
    `This is an automatic test message from relaycheck, an open-relay checker.`,
    `Someone with access to relaycheck asked it to check the mail server(s) of ${p.targetName}`,
    `and to prove by delivery whether they relay mail for strangers. The message was handed to`,
    `that server addressed to relaycheck's own mailbox; if it arrives there, the server relays.`,
    "",
    p.reportUrl ? `The report: ${p.reportUrl}` : "The report is with the operator who ran relaycheck's command-line tool.",
    ...(p.token ? [`Token: ${p.token}`] : []),
    "",
    "No action is needed from you: this message goes to relaycheck only, and no reply is expected.",
  ];
}
