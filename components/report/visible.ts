/**
 * Makes control characters visible so a hostile or broken server cannot hide text, move the
 * cursor or reorder a line: C0 controls and DEL become `<CR>`, `<BEL>`, `<0x1B>`…, and C1
 * controls, bidirectional overrides and zero-width characters become `<U+XXXX>`. Plain ASCII
 * names rather than Unicode control pictures, which many monospace fonts lack.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u0080-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const NAMES: Record<number, string> = { 0: "NUL", 7: "BEL", 8: "BS", 9: "TAB", 10: "LF", 13: "CR", 27: "ESC", 127: "DEL" };

export function visible(text: string): string {
  return text.replace(CONTROL, (ch) => {
    const code = ch.charCodeAt(0);
    const name = NAMES[code];
    if (name) return `<${name}>`;
    if (code < 0x20) return `<0x${code.toString(16).toUpperCase().padStart(2, "0")}>`;
    return `<U+${code.toString(16).toUpperCase().padStart(4, "0")}>`;
  });
}
