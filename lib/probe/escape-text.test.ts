import { describe, expect, it } from "vitest";
import { escapeText } from "./escape-text";

describe("escapeText", () => {
  it.each([
    ["plain text", "plain text", "plain text"],
    ["markup stays text", "<script>alert(1)</script>", "<script>alert(1)</script>"],
    ["tab kept", "a\tb", "a\tb"],
    ["non-ASCII letters kept", "Grüße, 你好, مرحبا", "Grüße, 你好, مرحبا"],
    ["emoji kept", "ok 👍", "ok 👍"],
    ["NUL", "a\u0000b", "a\\x00b"],
    ["CR LF", "a\r\nb", "a\\x0d\\x0ab"],
    ["ESC sequence", "\u001b[2Jred", "\\x1b[2Jred"],
    ["DEL", "a\u007f", "a\\x7f"],
    ["C1 control (NEL)", "a\u0085b", "a\\x85b"],
    ["soft hyphen", "re\u00adlay", "re\\xadlay"],
    ["RIGHT-TO-LEFT OVERRIDE", "denied \u202Eexe.gnp", "denied \\u{202e}exe.gnp"],
    ["LRE RLE PDF LRO", "\u202A\u202B\u202C\u202D", "\\u{202a}\\u{202b}\\u{202c}\\u{202d}"],
    ["isolates", "\u2066a\u2067b\u2068c\u2069", "\\u{2066}a\\u{2067}b\\u{2068}c\\u{2069}"],
    ["LRM RLM", "a\u200Eb\u200F", "a\\u{200e}b\\u{200f}"],
    ["ARABIC LETTER MARK", "a\u061Cb", "a\\u{061c}b"],
    ["zero-width space and joiner", "a\u200Bb\u200Dc", "a\\u{200b}b\\u{200d}c"],
    ["BOM", "\uFEFFhello", "\\u{feff}hello"],
    ["line and paragraph separators", "a\u2028b\u2029c", "a\\u{2028}b\\u{2029}c"],
    ["tag characters", "flag\u{E0067}\u{E007F}", "flag\\u{e0067}\\u{e007f}"],
    ["lone surrogate", "a\uD800b", "a\\u{d800}b"],
    ["Hangul filler", "a\u3164b", "a\\u{3164}b"],
  ])("%s", (_name, input, output) => {
    expect(escapeText(input)).toBe(output);
  });

  it("is idempotent: escaped text passes through unchanged", () => {
    const once = escapeText("\u001b[1m554 \u202Edenied\u2066\u0000");
    expect(escapeText(once)).toBe(once);
  });
});
