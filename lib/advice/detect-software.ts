import { escapeText } from "@/lib/probe/escape-text";
import type { ServerReport } from "@/lib/probe/types";
import type { Confidence, DetectedSoftware, SoftwareName } from "./types";

/**
 * Recognises the server software from what it said, weighing three kinds of clue:
 *
 * 1. the greeting (banner) and the names the server gives itself: "self-declared", because an
 *    administrator can write anything there (and often does, to hide or to mislead);
 * 2. the EHLO extensions: which ones, and in which order;
 * 3. the wording of every other reply (MAIL, RCPT, RSET, STARTTLS, QUIT): hard to fake, since
 *    few administrators rewrite every built-in message.
 *
 * The software is decided by (2) and (3), the "behaviour". The greeting only raises or lowers the
 * confidence, or breaks a tie: it never decides against the behaviour. With nothing but the
 * greeting the answer is a low-confidence guess; with nothing at all it is null.
 */
export function detectSoftware(server: ServerReport): DetectedSoftware | null {
  const clues = collectClues(server);
  if (clues.length === 0) return null;

  const behaviour = new Map<Family, number>();
  const declared = new Map<Family, number>();
  const named = new Map<Family, number>();
  for (const clue of clues) {
    const fam = familyOf(clue.software);
    const table = clue.kind === "behaviour" ? behaviour : declared;
    table.set(fam, (table.get(fam) ?? 0) + clue.weight);
    if (clue.kind === "declared" && clue.weight >= NAMED) named.set(fam, (named.get(fam) ?? 0) + clue.weight);
  }

  // Only a greeting that names a product can contradict the behaviour; a bare one can only agree.
  const claim = topOf(named);
  const ranked = [...behaviour.entries()].sort((a, b) => b[1] - a[1]);

  if (ranked.length === 0) {
    // Only self-declared names: a guess, said as such.
    const guess = claim;
    if (guess === null) return null;
    return {
      name: nameFor(guess, clues),
      confidence: "low",
      evidence: [
        ...describe(clues, guess),
        "Only the greeting names the software, and administrators can change it: treat this as a guess.",
      ],
    };
  }

  const best = ranked[0]!;
  const tied = ranked.filter(([, score]) => score === best[1]).map(([fam]) => fam);
  let winner: Family;
  if (tied.length === 1) winner = best[0];
  else if (claim !== null && tied.includes(claim)) winner = claim;
  else return null; // equal evidence for two products, and nothing to choose between them

  const score = behaviour.get(winner) ?? 0;
  // High confidence from behaviour alone takes two independent clues, not one strong phrase.
  const clueCount = clues.filter((c) => c.kind === "behaviour" && familyOf(c.software) === winner).length;
  let level = score >= STRONG && clueCount >= 2 ? 2 : score >= MODERATE ? 1 : 0;
  const evidence = describe(clues, winner);

  const claimAgrees = (declared.get(winner) ?? 0) > 0;
  if (claimAgrees) {
    level += 1;
  } else if (claim !== null) {
    level -= 1;
    evidence.push(
      `The greeting claims ${DISPLAY_NAMES[claim]}, but the replies and extensions are those of ${DISPLAY_NAMES[winner]}: the greeting was probably edited, so relaycheck goes by the behaviour.`,
    );
  }

  const runnerUp = ranked.find(([fam]) => fam !== winner);
  if (runnerUp && runnerUp[1] >= MODERATE && score - runnerUp[1] < MODERATE) {
    level -= 1;
    evidence.push(`Some replies also resemble ${DISPLAY_NAMES[runnerUp[0]]}.`);
  }

  if (level < 0) return null;
  return { name: nameFor(winner, clues), confidence: LEVELS[Math.min(level, 2)]!, evidence };
}

export const DISPLAY_NAMES: Record<SoftwareName, string> = {
  postfix: "Postfix",
  exim: "Exim",
  sendmail: "Sendmail",
  exchange: "Microsoft Exchange",
  "microsoft-365": "Microsoft 365 (Exchange Online)",
  opensmtpd: "OpenSMTPD",
  haraka: "Haraka",
  qmail: "qmail",
  google: "Google Workspace (Gmail)",
  hmailserver: "hMailServer",
  mailenable: "MailEnable",
};

// ---------------------------------------------------------------------------------------------
// Scoring

/** Behaviour score from which the software is named with high / medium confidence. */
const STRONG = 4;
const MODERATE = 2;
/** Weight of a self-declared clue that names a product outright. */
const NAMED = 3;
const LEVELS: Confidence[] = ["low", "medium", "high"];

/** Microsoft 365 runs Exchange: the two compete as one, and the 365 clues pick the name. */
type Family = Exclude<SoftwareName, "microsoft-365">;

function familyOf(name: SoftwareName): Family {
  return name === "microsoft-365" ? "exchange" : name;
}

function nameFor(fam: Family, clues: Clue[]): SoftwareName {
  if (fam === "exchange" && clues.some((c) => c.software === "microsoft-365")) return "microsoft-365";
  return fam;
}

function topOf(scores: Map<Family, number>): Family | null {
  let top: Family | null = null;
  let max = 0;
  for (const [fam, score] of scores) {
    if (score > max) {
      top = fam;
      max = score;
    }
  }
  return top;
}

/** Evidence sentences for one family: self-declared clues first, then behaviour; they quote the server's words, so escaped (escapeText). */
function describe(clues: Clue[], fam: Family): string[] {
  const mine = clues.filter((c) => familyOf(c.software) === fam);
  return [...mine.filter((c) => c.kind === "declared"), ...mine.filter((c) => c.kind === "behaviour")].map((c) => escapeText(c.sentence));
}

// ---------------------------------------------------------------------------------------------
// Clues

interface Clue {
  software: SoftwareName;
  kind: "declared" | "behaviour";
  weight: number;
  sentence: string;
}

interface TextRule {
  software: SoftwareName[];
  weight: number;
  pattern: RegExp;
  /** Completes "… is <what>". */
  what: string;
}

/** Words in the greeting (or the names the server gives itself). Self-declared. */
const DECLARED_RULES: TextRule[] = [
  { software: ["postfix"], weight: 3, pattern: /\bPostfix\b/i, what: "names Postfix" },
  { software: ["exim"], weight: 3, pattern: /\bExim\b/i, what: "names Exim" },
  { software: ["sendmail"], weight: 3, pattern: /\bSendmail\b/i, what: "names Sendmail" },
  { software: ["exchange"], weight: 3, pattern: /Microsoft ESMTP MAIL Service/i, what: "is Microsoft Exchange's greeting" },
  { software: ["microsoft-365"], weight: 3, pattern: /\.outlook\.com\b/i, what: "names a Microsoft 365 (outlook.com) host" },
  { software: ["opensmtpd"], weight: 3, pattern: /\bOpenSMTPD\b/i, what: "names OpenSMTPD" },
  { software: ["haraka"], weight: 3, pattern: /\bHaraka\b/i, what: "names Haraka" },
  { software: ["google"], weight: 3, pattern: /\bgsmtp\b|\bmx\.google\.com\b/i, what: "is Google's greeting" },
  { software: ["hmailserver"], weight: 3, pattern: /\bhMailServer\b/i, what: "names hMailServer" },
  { software: ["mailenable"], weight: 3, pattern: /\bMailEnable\b/i, what: "names MailEnable" },
  // qmail greets with nothing after "ESMTP"; so do servers that hide their name: a weak hint.
  { software: ["qmail"], weight: 1, pattern: /^\S+ ESMTP$/, what: "is bare, like qmail's default" },
];

/**
 * Built-in wording of replies other than the greeting. Anchored patterns see lines normalised to
 * "<code> <text>" (a multi-line separator "-" becomes a space).
 */
const REPLY_RULES: TextRule[] = [
  // Postfix
  { software: ["postfix"], weight: 4, pattern: /Relay access denied/, what: "Postfix's wording when it refuses to relay" },
  {
    software: ["postfix"],
    weight: 3,
    pattern: /(Recipient|Sender) address rejected:|Client host rejected:|Helo command rejected:/,
    what: "Postfix's wording for its restriction lists",
  },
  { software: ["postfix"], weight: 2, pattern: /Bad (recipient|sender) address syntax/, what: "Postfix's wording for a malformed address" },
  { software: ["postfix"], weight: 2, pattern: /\b5\.5\.[12] Error: /, what: "Postfix's wording for a protocol error" },
  { software: ["postfix"], weight: 1, pattern: /^250 2\.1\.[05] Ok$/, what: "Postfix's reply to MAIL FROM / RCPT TO" },
  { software: ["postfix", "opensmtpd"], weight: 1, pattern: /^221 2\.0\.0 Bye$/, what: "the goodbye of Postfix and OpenSMTPD" },
  // Exim
  { software: ["exim"], weight: 4, pattern: /relay not permitted/i, what: "Exim's default wording when it refuses to relay" },
  { software: ["exim"], weight: 3, pattern: /Unrouteable address/, what: "Exim's wording for a recipient it cannot route" },
  {
    software: ["exim"],
    weight: 2,
    pattern: /missing or malformed local part|domain missing or malformed/,
    what: "Exim's wording for a malformed address",
  },
  { software: ["exim"], weight: 3, pattern: /^220 TLS go ahead$/, what: "Exim's reply to STARTTLS" },
  { software: ["exim"], weight: 2, pattern: /^250 Reset OK$/, what: "Exim's reply to RSET" },
  { software: ["exim"], weight: 2, pattern: /^250 Accepted$/, what: "Exim's reply to an accepted RCPT TO" },
  { software: ["exim"], weight: 2, pattern: /^221 \S+ closing connection$/, what: "Exim's goodbye" },
  { software: ["exim"], weight: 1, pattern: /^250 \S+ Hello \S+ \[[0-9A-Fa-f.:]+\]$/, what: "Exim's EHLO greeting line" },
  // Sendmail
  { software: ["sendmail"], weight: 4, pattern: /Relaying denied/, what: "Sendmail's wording when it refuses to relay" },
  { software: ["sendmail"], weight: 3, pattern: /\.\.\. (Sender|Recipient) ok\b/, what: "Sendmail's reply to MAIL FROM / RCPT TO" },
  { software: ["sendmail"], weight: 2, pattern: /<[^>]*>\.\.\. /, what: "Sendmail's \"<address>... \" reply style" },
  { software: ["sendmail"], weight: 2, pattern: /^221 2\.0\.0 \S+ closing connection$/, what: "Sendmail's goodbye" },
  { software: ["sendmail", "opensmtpd"], weight: 1, pattern: /pleased to meet you/, what: "the EHLO greeting of Sendmail and OpenSMTPD" },
  // Microsoft Exchange and Microsoft 365
  { software: ["exchange"], weight: 4, pattern: /Unable to relay/, what: "Microsoft Exchange's wording when it refuses to relay" },
  { software: ["exchange"], weight: 3, pattern: /RESOLVER\.[A-Z]+\.[A-Za-z]+/, what: "an Exchange resolver status" },
  { software: ["exchange"], weight: 2, pattern: /^250 2\.1\.(0 Sender|5 Recipient) OK$/, what: "Exchange's reply to MAIL FROM / RCPT TO" },
  { software: ["exchange"], weight: 2, pattern: /Service closing transmission channel/, what: "Exchange's goodbye" },
  { software: ["exchange"], weight: 2, pattern: /^250 2\.0\.0 Resetting$/, what: "Exchange's reply to RSET" },
  { software: ["exchange"], weight: 2, pattern: /^220 2\.0\.0 SMTP server ready$/, what: "Exchange's reply to STARTTLS" },
  { software: ["exchange"], weight: 1, pattern: /^250 \S+ Hello \[[0-9A-Fa-f.:]+\]$/, what: "Exchange's EHLO greeting line" },
  { software: ["microsoft-365"], weight: 4, pattern: /TenantAttribution|\.prod\.outlook\.com|\.protection\.outlook\.com/i, what: "Microsoft 365's wording" },
  // OpenSMTPD
  { software: ["opensmtpd"], weight: 4, pattern: /^550 Invalid recipient: </, what: "OpenSMTPD's wording when no rule matches a recipient" },
  { software: ["opensmtpd"], weight: 4, pattern: /Destination address valid: Recipient ok/, what: "OpenSMTPD's reply to RCPT TO" },
  // Haraka
  { software: ["haraka"], weight: 4, pattern: /Haraka is at your service/, what: "Haraka's EHLO greeting line" },
  { software: ["haraka"], weight: 4, pattern: /I cannot deliver mail for/, what: "Haraka's wording when no plugin accepts a recipient" },
  { software: ["haraka"], weight: 3, pattern: /Have a jolly good day/, what: "Haraka's goodbye" },
  // qmail
  { software: ["qmail"], weight: 4, pattern: /list of allowed rcpthosts/, what: "qmail's wording when it refuses to relay" },
  { software: ["qmail"], weight: 2, pattern: /\(#[45]\.\d\.\d+\)$/, what: "qmail's \"(#5.x.x)\" status style" },
  { software: ["qmail"], weight: 2, pattern: /^250 flushed$/, what: "qmail's reply to RSET" },
  // Google
  { software: ["google"], weight: 4, pattern: / - gsmtp$/, what: "the tag Google's servers put on every reply" },
  { software: ["google"], weight: 2, pattern: /at your service, \[/, what: "Google's EHLO greeting line" },
  // hMailServer, MailEnable
  { software: ["hmailserver"], weight: 4, pattern: /Delivery is not allowed to this address/, what: "hMailServer's wording when its IP ranges forbid relaying" },
  {
    software: ["mailenable"],
    weight: 4,
    pattern: /requires authentication when attempting to send to a non-local e-mail address/,
    what: "MailEnable's wording when it refuses to relay",
  },
];

const EXCHANGE_EXTENSIONS = ["X-EXPS", "XEXCH50", "X-ANONYMOUSTLS", "X-LINK2STATE", "XRDST", "XSHADOW", "XSHADOWREQUEST", "XOORG", "XPROXYFROM"];

interface ExtensionRule {
  software: SoftwareName;
  weight: (keywords: string[]) => number;
  what: string;
  matched: (keywords: string[]) => string[];
}

const EXTENSION_RULES: ExtensionRule[] = [
  {
    software: "exchange",
    matched: (k) => k.filter((x) => EXCHANGE_EXTENSIONS.includes(x)),
    weight: (k) => (k.some((x) => EXCHANGE_EXTENSIONS.includes(x)) ? 4 : 0),
    what: "extensions only Microsoft Exchange announces",
  },
  {
    software: "exim",
    matched: (k) => k.filter((x) => x === "PIPE_CONNECT" || x === "X_PIPE_CONNECT"),
    weight: (k) => (k.includes("PIPE_CONNECT") || k.includes("X_PIPE_CONNECT") ? 4 : 0),
    what: "Exim's own extension for pipelining the connection",
  },
  {
    software: "exim",
    matched: (k) => k.filter((x) => x === "PRDR"),
    weight: (k) => (k.includes("PRDR") ? 2 : 0),
    what: "an extension few servers other than Exim announce",
  },
  {
    software: "exim",
    matched: (k) => (k.includes("HELP") && !k.includes("ENHANCEDSTATUSCODES") ? ["HELP", "no ENHANCEDSTATUSCODES"] : []),
    weight: (k) => (k.includes("HELP") && !k.includes("ENHANCEDSTATUSCODES") ? 1 : 0),
    what: "Exim's habit (HELP, and no enhanced status codes)",
  },
  {
    software: "sendmail",
    matched: (k) => k.filter((x) => x === "DELIVERBY"),
    weight: (k) => (k.includes("DELIVERBY") ? 3 : 0),
    what: "an extension hardly any server but Sendmail announces",
  },
  {
    software: "sendmail",
    matched: (k) => k.filter((x) => x === "VERB" || x === "ONEX" || x === "EXPN"),
    weight: (k) => (k.some((x) => x === "VERB" || x === "ONEX" || x === "EXPN") ? 2 : 0),
    what: "Sendmail's old extensions",
  },
  {
    software: "postfix",
    matched: (k) => (isPostfixSet(k) ? POSTFIX_SET : []),
    weight: (k) => (!isPostfixSet(k) ? 0 : inOrder(k, POSTFIX_SET) ? 3 : 2),
    what: "Postfix's usual set (VRFY and ETRN, no HELP)",
  },
];

const POSTFIX_SET = ["VRFY", "ETRN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN"];

function isPostfixSet(k: string[]): boolean {
  return POSTFIX_SET.every((x) => k.includes(x)) && !k.includes("HELP");
}

function inOrder(k: string[], wanted: string[]): boolean {
  const at = wanted.map((x) => k.indexOf(x));
  return at.every((pos, i) => i === 0 || pos > at[i - 1]!);
}

function collectClues(server: ServerReport): Clue[] {
  const clues: Clue[] = [];

  const greeting = greetingLines(server);
  const names = [server.ehloName, ...greeting].filter((x): x is string => !!x);
  const fired = new Set<TextRule>();
  for (const line of names) {
    for (const rule of DECLARED_RULES) {
      if (fired.has(rule) || !rule.pattern.test(line)) continue;
      fired.add(rule);
      const source = greeting.includes(line) ? "the greeting" : "the EHLO name";
      for (const software of rule.software) {
        clues.push({ software, kind: "declared", weight: rule.weight, sentence: `${source} "${quote(line)}" ${rule.what}.` });
      }
    }
  }

  const keywords = server.extensions.map((e) => (e.trim().split(/[\s=]/)[0] ?? "").toUpperCase()).filter(Boolean);
  for (const rule of EXTENSION_RULES) {
    const weight = rule.weight(keywords);
    if (weight <= 0) continue;
    clues.push({
      software: rule.software,
      kind: "behaviour",
      weight,
      sentence: `EHLO lists ${rule.matched(keywords).join(", ")}: ${rule.what}.`,
    });
  }

  const replies = replyLines(server);
  for (const rule of REPLY_RULES) {
    const line = replies.find((l) => rule.pattern.test(l));
    if (line === undefined) continue;
    for (const software of rule.software) {
      clues.push({ software, kind: "behaviour", weight: rule.weight, sentence: `A reply reads "${quote(line)}": ${rule.what}.` });
    }
  }
  return clues;
}

/** The greeting's lines without their codes. */
function greetingLines(server: ServerReport): string[] {
  if (!server.banner) return [];
  return server.banner
    .split("\n")
    .map((l) => l.replace(/^\d{3}[ -]?/, "").trim())
    .filter(Boolean);
}

/**
 * Every reply line except the greeting, normalised to "<code> <text>": the case replies and the
 * server lines of the transcript (the lines before a session's first command are its greeting).
 */
function replyLines(server: ServerReport): string[] {
  const lines: string[] = [];
  for (const c of server.cases) {
    for (const r of [c.mailReply, c.reply]) {
      if (!r) continue;
      for (const text of r.text.split("\n")) {
        lines.push(normalise(`${r.code} ${r.enhanced ? `${r.enhanced} ` : ""}${text}`));
      }
    }
  }
  const spoke = new Set<number>();
  for (const t of server.transcript) {
    if (t.dir === "client") spoke.add(t.session);
    else if (t.dir === "server" && spoke.has(t.session)) lines.push(normalise(t.line));
  }
  return [...new Set(lines)];
}

function normalise(line: string): string {
  return line.replace(/^(\d{3})-/, "$1 ").trim();
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 100 ? `${flat.slice(0, 99)}…` : flat;
}
