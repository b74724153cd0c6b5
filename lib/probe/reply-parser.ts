import { escapeText } from "./escape-text";
import type { SmtpReply } from "./types";

export interface ReplyParserLimits {
  maxLineBytes: number;
  maxReplyLines: number;
  maxReplyBytes: number;
}

export type ReplyProtocolErrorKind = "line-too-long" | "reply-too-long" | "too-many-lines" | "malformed";

/** The server broke the reply syntax or one of our caps: the session cannot go on. */
export class ReplyProtocolError extends Error {
  constructor(
    readonly kind: ReplyProtocolErrorKind,
    message: string,
    /** The offending line, made printable and cut short, for the transcript. */
    readonly line: string | null = null,
  ) {
    super(message);
    this.name = "ReplyProtocolError";
  }
}

const LF = 0x0a;
const REPLY_LINE = /^([2-5]\d\d)(?:([ -])(.*))?$/s;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)\s?/;
/**
 * Decodes bytes as UTF-8 (invalid sequences become U+FFFD) and escapes control, bidi and other
 * invisible characters (escapeText), so every reply and transcript line is plain text.
 */
export function toPrintable(bytes: Buffer | string): string {
  return escapeText(typeof bytes === "string" ? bytes : bytes.toString("utf8"));
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/**
 * Splits a byte stream into lines and groups them into complete SMTP replies (RFC 5321 4.2):
 * `250-first`, `250-more`, `250 last`. Bytes are held only up to the caps, so an endless line or
 * reply costs bounded memory. A bare "250" (no text) ends a reply; a line that is not
 * `<code>[ -]<text>` is a protocol error.
 */
export class ReplyParser {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private lines: string[] = [];
  private replyBytes = 0;
  private code: number | null = null;

  constructor(private readonly limits: ReplyParserLimits) {}

  /** Feeds received bytes; returns the replies completed by them (often none or one). */
  feed(chunk: Buffer): SmtpReply[] {
    const replies: SmtpReply[] = [];
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        this.keepPartial(chunk.subarray(start));
        return replies;
      }
      const piece = chunk.subarray(start, lf);
      this.checkLineLength(piece.length);
      const bytes = this.partialBytes ? Buffer.concat([...this.partial, piece]) : piece;
      this.partial = [];
      this.partialBytes = 0;
      const reply = this.takeLine(bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, -1) : bytes);
      if (reply) replies.push(reply);
      start = lf + 1;
    }
  }

  /** Bytes of an unfinished reply or line are waiting. */
  get pending(): boolean {
    return this.partialBytes > 0 || this.lines.length > 0;
  }

  /** Forgets buffered bytes (after STARTTLS: plaintext sent before the handshake must not count). */
  reset(): number {
    const dropped = this.partialBytes + this.replyBytes;
    this.partial = [];
    this.partialBytes = 0;
    this.lines = [];
    this.replyBytes = 0;
    this.code = null;
    return dropped;
  }

  private keepPartial(piece: Buffer): void {
    if (piece.length === 0) return;
    this.checkLineLength(piece.length);
    this.partial.push(Buffer.from(piece));
    this.partialBytes += piece.length;
  }

  private checkLineLength(more: number): void {
    if (this.partialBytes + more > this.limits.maxLineBytes) {
      const head = toPrintable(Buffer.concat(this.partial).subarray(0, 120));
      throw new ReplyProtocolError(
        "line-too-long",
        `the server sent a line longer than ${this.limits.maxLineBytes} bytes`,
        truncate(head),
      );
    }
  }

  private takeLine(bytes: Buffer): SmtpReply | null {
    const line = toPrintable(bytes);
    const match = REPLY_LINE.exec(line);
    if (!match) {
      throw new ReplyProtocolError("malformed", `the server sent a line that is not an SMTP reply: "${truncate(line, 80)}"`, truncate(line));
    }
    const code = Number(match[1]);
    this.code ??= code;
    this.lines.push(line);
    this.replyBytes += bytes.length + 2;
    if (this.replyBytes > this.limits.maxReplyBytes) {
      throw new ReplyProtocolError("reply-too-long", `the server sent a reply longer than ${this.limits.maxReplyBytes} bytes`, truncate(line));
    }
    if (match[2] === "-") {
      if (this.lines.length >= this.limits.maxReplyLines) {
        throw new ReplyProtocolError("too-many-lines", `the server sent a reply of more than ${this.limits.maxReplyLines} lines`, truncate(line));
      }
      return null;
    }
    const reply = buildReply(this.code, this.lines);
    this.lines = [];
    this.replyBytes = 0;
    this.code = null;
    return reply;
  }
}

/** Builds a reply from its lines: the code of the first line, the enhanced code, the text. */
export function buildReply(code: number, lines: string[]): SmtpReply {
  const texts = lines.map((l) => l.slice(4));
  const first = ENHANCED.exec(texts[0] ?? "");
  // RFC 3463: the class digit of the enhanced code must match the reply's first digit.
  const enhanced = first && first[1] === String(code)[0] ? `${first[1]}.${first[2]}.${first[3]}` : null;
  const text = texts
    .map((t) => (enhanced && t.startsWith(enhanced) ? t.slice(enhanced.length).trimStart() : t))
    .join("\n");
  return { code, enhanced, text, lines: [...lines] };
}

/** "250 2.1.0 Ok" style summary of a reply for reasons and notes, safe to quote (escapeText). */
export function formatReply(reply: Pick<SmtpReply, "code" | "enhanced" | "text">): string {
  const firstLine = reply.text.split("\n")[0] ?? "";
  return escapeText([String(reply.code), reply.enhanced, firstLine].filter(Boolean).join(" "));
}
