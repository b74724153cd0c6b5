import { describe, expect, it } from "vitest";
import { ReplyParser, ReplyProtocolError, buildReply, formatReply, toPrintable } from "./reply-parser";

const limits = { maxLineBytes: 100, maxReplyLines: 5, maxReplyBytes: 300 };
const feed = (...chunks: string[]) => {
  const p = new ReplyParser(limits);
  return chunks.flatMap((c) => p.feed(Buffer.from(c, "latin1")));
};

describe("ReplyParser", () => {
  it.each([
    { name: "single line", input: ["220 mx.example.com ESMTP\r\n"], code: 220, text: "mx.example.com ESMTP", enhanced: null, lines: 1 },
    { name: "multi-line", input: ["250-mx.example.com\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"], code: 250, text: "mx.example.com\nPIPELINING\nSIZE 1000", enhanced: null, lines: 3 },
    { name: "split across chunks", input: ["25", "0-a\r", "\n250 b\r\n"], code: 250, text: "a\nb", enhanced: null, lines: 2 },
    { name: "bare LF line ends", input: ["554 5.7.1 Relay access denied\n"], code: 554, text: "Relay access denied", enhanced: "5.7.1", lines: 1 },
    { name: "code alone", input: ["250\r\n"], code: 250, text: "", enhanced: null, lines: 1 },
    { name: "enhanced on every line", input: ["550-5.7.1 first\r\n550 5.7.1 second\r\n"], code: 550, text: "first\nsecond", enhanced: "5.7.1", lines: 2 },
    { name: "enhanced class must match", input: ["550 4.7.1 odd\r\n"], code: 550, text: "4.7.1 odd", enhanced: null, lines: 1 },
    { name: "greylisting", input: ["450 4.2.0 <a@b>: Recipient address rejected: Greylisted\r\n"], code: 450, text: "<a@b>: Recipient address rejected: Greylisted", enhanced: "4.2.0", lines: 1 },
  ])("$name", ({ input, code, text, enhanced, lines }) => {
    const [reply, ...rest] = feed(...input);
    expect(rest).toEqual([]);
    expect(reply).toMatchObject({ code, text, enhanced });
    expect(reply!.lines).toHaveLength(lines);
  });

  it("returns several replies from one chunk (pipelining)", () => {
    const replies = feed("250 2.1.0 Ok\r\n554 5.7.1 denied\r\n250 2.0.0 Ok\r\n");
    expect(replies.map((r) => r.code)).toEqual([250, 554, 250]);
  });

  it("holds an unfinished reply until its last line", () => {
    const p = new ReplyParser(limits);
    expect(p.feed(Buffer.from("250-a\r\n"))).toEqual([]);
    expect(p.pending).toBe(true);
    expect(p.feed(Buffer.from("250 b\r\n"))).toHaveLength(1);
    expect(p.pending).toBe(false);
  });

  it.each([
    { name: "not a reply", input: "hello there\r\n", kind: "malformed" },
    { name: "1xx code", input: "150 what\r\n", kind: "malformed" },
    { name: "code glued to text", input: "250ok\r\n", kind: "malformed" },
    { name: "HTTP answer", input: "HTTP/1.1 400 Bad Request\r\n", kind: "malformed" },
    { name: "line over the cap without LF", input: "250 " + "x".repeat(200), kind: "line-too-long" },
    { name: "line over the cap with LF", input: "250 " + "x".repeat(200) + "\r\n", kind: "line-too-long" },
    { name: "too many lines", input: "250-a\r\n".repeat(6), kind: "too-many-lines" },
  ])("refuses $name", ({ input, kind }) => {
    try {
      feed(input);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ReplyProtocolError);
      expect((err as ReplyProtocolError).kind).toBe(kind);
    }
  });

  it("caps the bytes of one reply", () => {
    const p = new ReplyParser({ maxLineBytes: 100, maxReplyLines: 100, maxReplyBytes: 300 });
    expect(() => p.feed(Buffer.from(`250-${"y".repeat(90)}\r\n`.repeat(5)))).toThrow(/longer than 300 bytes/);
  });

  it("never buffers more than the line cap of an endless line", () => {
    const p = new ReplyParser(limits);
    p.feed(Buffer.from("250 " + "z".repeat(50)));
    expect(() => p.feed(Buffer.from("z".repeat(60)))).toThrow(ReplyProtocolError);
  });

  it("keeps binary junk and invalid UTF-8 as visible text", () => {
    const p = new ReplyParser(limits);
    const [reply] = p.feed(Buffer.concat([Buffer.from("220 hi "), Buffer.from([0x00, 0x07, 0xff, 0x1b]), Buffer.from(" <script>\r\n")]));
    expect(reply!.text).toBe("hi \\x00\\x07\uFFFD\\x1b <script>");
  });

  it("reset forgets buffered bytes (STARTTLS injection)", () => {
    const p = new ReplyParser(limits);
    p.feed(Buffer.from("250-injected\r\n250 x"));
    expect(p.reset()).toBeGreaterThan(0);
    expect(p.feed(Buffer.from("220 fresh\r\n"))[0]!.text).toBe("fresh");
  });
});

describe("helpers", () => {
  it("toPrintable escapes control characters but keeps tabs", () => {
    expect(toPrintable("a\tb\x7fc\u0085")).toBe("a\tb\\x7fc\\x85");
  });
  it("a reply with bidi controls: text and lines escaped, formatReply quotes the escaped form", () => {
    const p = new ReplyParser(limits);
    const [reply] = p.feed(Buffer.from("554 5.7.1 Relay \u202Edenied\u2066 \u200F\r\n", "utf8"));
    expect(reply!.text).toBe("Relay \\u{202e}denied\\u{2066} \\u{200f}");
    expect(reply!.lines).toEqual(["554 5.7.1 Relay \\u{202e}denied\\u{2066} \\u{200f}"]);
    expect(formatReply({ code: 554, enhanced: "5.7.1", text: "raw \u202Etext" })).toBe("554 5.7.1 raw \\u{202e}text");
  });
  it("formatReply gives code, enhanced code and the first line", () => {
    expect(formatReply(buildReply(554, ["554-5.7.1 Relay access denied", "554 5.7.1 more"]))).toBe("554 5.7.1 Relay access denied");
    expect(formatReply(buildReply(250, ["250 Ok"]))).toBe("250 Ok");
  });
});
