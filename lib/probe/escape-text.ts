/**
 * Text a server chose (its replies, and the names it gives: EHLO, certificate, reverse DNS),
 * made safe to quote: in the transcript, in a verdict's reason, a finding, advice, a page, a
 * terminal. Without it a hostile server could turn our own sentence around with a bidi override
 * (U+202E makes "denied" read "deined"…, or a file name "gnp.exe" read "exe.png"), hide words
 * with zero-width or format characters, or move a terminal's cursor (ESC).
 *
 * One notation, JavaScript's: a character up to U+00FF as `\xhh`, any other as `\u{hhhh}`
 * (lowercase hex, at least four digits in braces; transcripts have always shown controls so). Everything else is kept as is,
 * tabs included. Escaped:
 * - C0 controls but TAB, DEL and C1 controls;
 * - every format character (\p{Cf}): the bidi embeddings, overrides and isolates (U+202A–U+202E,
 *   U+2066–U+2069), the marks U+200E, U+200F and U+061C, zero-width characters, soft hyphen,
 *   BOM, tag characters;
 * - line and paragraph separators (U+2028, U+2029), lone surrogates, and the Hangul fillers,
 *   letters that render as nothing.
 *
 * Idempotent: the output holds none of these characters, so text escaped once (a stored
 * transcript line, a reply quoted in a note) can pass through again unchanged.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115f\u1160\u3164\uffa0]/gu;

export function escapeText(text: string): string {
  return text.replace(UNSAFE, escapeCharacter);
}

function escapeCharacter(c: string): string {
  const code = c.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16).padStart(4, "0")}}`;
}
