/**
 * Realistic ServerReport fixtures for the advice tests: each profile plays one server software
 * with its real greeting, EHLO reply and reply wording, over a case catalogue shaped like the
 * engine's (baseline, sender variants, recipient tricks).
 */
import type { CaseDefinition, CaseResult, ServerReport, SmtpReply, TlsInfo, TranscriptLine } from "@/lib/probe/types";

type Reply = Pick<SmtpReply, "code" | "enhanced" | "text">;

export const OWN = "example.com";
export const MX = "mail.example.com";
export const THIRD = "relay-target.invalid";
export const SENDER = "relaycheck@relaycheck.invalid";

export function reply(code: number, enhanced: string | null, text: string): Reply {
  return { code, enhanced, text };
}

/** What a server software says; `denied` is its refusal of a relay recipient. */
export interface Profile {
  banner: string;
  ehlo: string[];
  mailOk: (from: string) => Reply;
  rcptOk: (to: string) => Reply;
  denied: (to: string) => Reply;
  /** Refusal of an unknown local recipient (defaults to `denied`). */
  unknown?: (to: string) => Reply;
  rset: string;
  quit: string;
}

const HELLO = "Hello relaycheck.invalid [198.51.100.7]";

export const PROFILES = {
  postfix: {
    banner: `${MX} ESMTP Postfix (Debian/GNU)`,
    ehlo: [MX, "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"],
    mailOk: () => reply(250, "2.1.0", "Ok"),
    rcptOk: () => reply(250, "2.1.5", "Ok"),
    denied: (to) => reply(554, "5.7.1", `<${to}>: Relay access denied`),
    unknown: (to) => reply(550, "5.1.1", `<${to}>: Recipient address rejected: User unknown in local recipient table`),
    rset: "250 2.0.0 Ok",
    quit: "221 2.0.0 Bye",
  },
  exim: {
    banner: `${MX} ESMTP Exim 4.96 Mon, 03 Jun 2024 10:00:00 +0000`,
    ehlo: [`${MX} ${HELLO}`, "SIZE 52428800", "8BITMIME", "PIPELINING", "PIPE_CONNECT", "CHUNKING", "STARTTLS", "PRDR", "HELP"],
    mailOk: () => reply(250, null, "OK"),
    rcptOk: () => reply(250, null, "Accepted"),
    denied: () => reply(550, null, "relay not permitted"),
    unknown: () => reply(550, null, "Unrouteable address"),
    rset: "250 Reset OK",
    quit: `221 ${MX} closing connection`,
  },
  sendmail: {
    banner: `${MX} ESMTP Sendmail 8.17.1/8.17.1; Mon, 3 Jun 2024 10:00:00 GMT`,
    ehlo: [
      `${MX} ${HELLO}, pleased to meet you`,
      "ENHANCEDSTATUSCODES",
      "PIPELINING",
      "8BITMIME",
      "SIZE",
      "DSN",
      "ETRN",
      "STARTTLS",
      "DELIVERBY",
      "HELP",
    ],
    mailOk: (from) => reply(250, "2.1.0", `<${from}>... Sender ok`),
    rcptOk: (to) => reply(250, "2.1.5", `<${to}>... Recipient ok`),
    denied: (to) => reply(550, "5.7.1", `<${to}>... Relaying denied`),
    unknown: (to) => reply(550, "5.1.1", `<${to}>... User unknown`),
    rset: "250 2.0.0 Reset state",
    quit: `221 2.0.0 ${MX} closing connection`,
  },
  exchange: {
    banner: `${MX} Microsoft ESMTP MAIL Service ready at Mon, 3 Jun 2024 10:00:00 +0000`,
    ehlo: [
      `${MX} Hello [198.51.100.7]`,
      "SIZE 37748736",
      "PIPELINING",
      "DSN",
      "ENHANCEDSTATUSCODES",
      "STARTTLS",
      "X-ANONYMOUSTLS",
      "AUTH NTLM",
      "X-EXPS GSSAPI NTLM",
      "8BITMIME",
      "BINARYMIME",
      "CHUNKING",
      "XRDST",
    ],
    mailOk: () => reply(250, "2.1.0", "Sender OK"),
    rcptOk: () => reply(250, "2.1.5", "Recipient OK"),
    denied: () => reply(550, "5.7.54", "SMTP; Unable to relay recipient in non-accepted domain"),
    unknown: () => reply(550, "5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"),
    rset: "250 2.0.0 Resetting",
    quit: "221 2.0.0 Service closing transmission channel",
  },
  opensmtpd: {
    banner: `${MX} ESMTP OpenSMTPD`,
    ehlo: [`${MX} ${HELLO}, pleased to meet you`, "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 36700160", "DSN", "STARTTLS", "HELP"],
    mailOk: () => reply(250, "2.0.0", "Ok"),
    rcptOk: () => reply(250, "2.1.5", "Destination address valid: Recipient ok"),
    denied: (to) => reply(550, null, `Invalid recipient: <${to}>`),
    rset: "250 2.0.0 Reset state",
    quit: "221 2.0.0 Bye",
  },
  haraka: {
    banner: `${MX} ESMTP Haraka/3.0.3 ready`,
    ehlo: [`${MX} ${HELLO}, Haraka is at your service.`, "PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE 0", "STARTTLS"],
    mailOk: (from) => reply(250, null, `sender <${from}> OK`),
    rcptOk: (to) => reply(250, null, `recipient <${to}> OK`),
    denied: (to) => reply(550, null, `I cannot deliver mail for <${to}>`),
    rset: "250 OK",
    quit: `221 ${MX} closing connection. Have a jolly good day.`,
  },
  qmail: {
    banner: `${MX} ESMTP`,
    ehlo: [MX, "PIPELINING", "8BITMIME"],
    mailOk: () => reply(250, null, "ok"),
    rcptOk: () => reply(250, null, "ok"),
    denied: () => reply(553, null, "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"),
    rset: "250 flushed",
    quit: `221 ${MX}`,
  },
  google: {
    banner: "mx.google.com ESMTP a640c23a62f3a-1234567890abc.12 - gsmtp",
    ehlo: ["mx.google.com at your service, [198.51.100.7]", "SIZE 157286400", "8BITMIME", "STARTTLS", "ENHANCEDSTATUSCODES", "PIPELINING", "CHUNKING", "SMTPUTF8"],
    mailOk: () => reply(250, "2.1.0", "OK a640c23a62f3a-1234567890abc.12 - gsmtp"),
    rcptOk: () => reply(250, "2.1.5", "OK a640c23a62f3a-1234567890abc.12 - gsmtp"),
    denied: () => reply(550, "5.7.0", "Mail relay denied [198.51.100.7]. a640c23a62f3a-1234567890abc.12 - gsmtp"),
    rset: "250 2.1.5 Flushed a640c23a62f3a-1234567890abc.12 - gsmtp",
    quit: "221 2.0.0 closing connection a640c23a62f3a-1234567890abc.12 - gsmtp",
  },
  "microsoft-365": {
    banner: "AM0PR01MB1234.eurprd01.prod.outlook.com Microsoft ESMTP MAIL Service ready at Mon, 3 Jun 2024 10:00:00 +0000",
    ehlo: [
      "AM0PR01MB1234.eurprd01.prod.outlook.com Hello [198.51.100.7]",
      "SIZE 157286400",
      "PIPELINING",
      "DSN",
      "ENHANCEDSTATUSCODES",
      "STARTTLS",
      "8BITMIME",
      "BINARYMIME",
      "CHUNKING",
      "SMTPUTF8",
    ],
    mailOk: () => reply(250, "2.1.0", "Sender OK"),
    rcptOk: () => reply(250, "2.1.5", "Recipient OK"),
    denied: () => reply(550, "5.7.64", "TenantAttribution; Relay Access Denied"),
    rset: "250 2.0.0 Resetting",
    quit: "221 2.0.0 Service closing transmission channel",
  },
} satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;

// ---------------------------------------------------------------------------------------------
// The case catalogue

function def(id: string, title: string, group: CaseDefinition["group"], mailFrom: string, rcptTo: string, localScope: string | null): CaseDefinition {
  return { id, title, group, mailFrom, rcptTo, localScope };
}

export const CATALOGUE: CaseDefinition[] = [
  def("baseline-own-domain", "Recipient at the server's own domain", "baseline", SENDER, `postmaster@${OWN}`, OWN),
  def("baseline-catch-all", "Random recipient at the server's own domain", "baseline", SENDER, `rc-8f3a2b@${OWN}`, OWN),
  def("plain-third-party", "Plain relay to a third party", "recipient", SENDER, `relaytest@${THIRD}`, null),
  def("null-sender", "Null sender", "sender", "", `relaytest@${THIRD}`, null),
  def("sender-own-domain", "Sender spoofing the server's own domain", "sender", `relaycheck@${OWN}`, `relaytest@${THIRD}`, null),
  def("sender-ip-literal", "IP-literal sender", "sender", "relaycheck@[192.0.2.10]", `relaytest@${THIRD}`, null),
  def("percent-hack-server-name", "Percent hack via the server name", "recipient", SENDER, `relaytest%${THIRD}@${MX}`, MX),
  def("bang-path-server-name", "Bang path via the server name", "recipient", SENDER, `${THIRD}!relaytest@${MX}`, MX),
  def("source-route", "Source route", "recipient", SENDER, `@${MX}:relaytest@${THIRD}`, null),
  def("quoted-local-part", "Quoted local part", "recipient", SENDER, `"relaytest@${THIRD}"@${MX}`, MX),
  def("double-at", "Double @", "recipient", SENDER, `relaytest@${THIRD}@${MX}`, MX),
];

export interface ScenarioOptions {
  /** Case ids accepted at RCPT (baseline-own-domain is always accepted unless `senderRejected`). */
  accept?: string[];
  /** Case ids answered with this temporary failure instead of the profile's refusal. */
  tempfail?: { ids: string[]; reply: Reply };
  /** Case ids refused with this reply instead of the profile's refusal. */
  reject?: { ids: string[]; reply: Reply };
  /** Case ids that ended in an error (connection dropped). */
  error?: string[];
  /** The server accepts any local part at its own domain. */
  catchAll?: boolean;
  /** The server refuses the probe's sender at MAIL FROM with this reply. */
  senderRejected?: Reply;
  verdict?: ServerReport["verdict"];
  reason?: string;
}

/** A full conversation with one server playing `profile` and answering per `opts`. */
export function scenario(name: ProfileName, opts: ScenarioOptions = {}, overrides: Partial<ServerReport> = {}): ServerReport {
  const p: Profile = PROFILES[name];
  const accept = new Set(["baseline-own-domain", ...(opts.accept ?? []), ...(opts.catchAll ? ["baseline-catch-all"] : [])]);
  const temp = new Set(opts.tempfail?.ids ?? []);
  const rejected = new Set(opts.reject?.ids ?? []);
  const errors = new Set(opts.error ?? []);

  const cases: CaseResult[] = CATALOGUE.map((d) => {
    const base = { ...d, session: 1, tls: true, durationMs: 3, attempts: 1, note: null };
    if (opts.senderRejected) {
      return { ...base, outcome: "rejected", stage: "mail", reply: opts.senderRejected, mailReply: opts.senderRejected, evidence: false };
    }
    const mailReply = p.mailOk(d.mailFrom);
    if (errors.has(d.id)) {
      return { ...base, outcome: "error", stage: "rcpt", reply: null, mailReply, evidence: false, note: "the server closed the connection after RCPT TO", attempts: 2 };
    }
    const ownScope = d.localScope !== null;
    const accepted = accept.has(d.id) || (opts.catchAll === true && ownScope && d.group !== "baseline" && !rejected.has(d.id) && !temp.has(d.id));
    if (accepted) {
      const evidence = d.group !== "baseline" && !(opts.catchAll && ownScope);
      return {
        ...base,
        outcome: "accepted",
        stage: "rcpt",
        reply: p.rcptOk(d.rcptTo),
        mailReply,
        evidence,
        note: evidence ? null : "accepted, but the server accepts any address at its own domain",
      };
    }
    if (temp.has(d.id)) return { ...base, outcome: "tempfail", stage: "rcpt", reply: opts.tempfail!.reply, mailReply, evidence: false };
    const refusal = d.group === "baseline" ? (p.unknown ?? p.denied) : p.denied;
    const r = rejected.has(d.id) ? opts.reject!.reply : refusal(d.rcptTo);
    return { ...base, outcome: "rejected", stage: "rcpt", reply: r, mailReply, evidence: false };
  });

  const proven = cases.some((c) => c.outcome === "accepted" && c.evidence);
  const verdict = opts.verdict ?? (proven ? "open-relay" : "not-open-relay");
  const ext = p.ehlo.slice(1);
  return {
    host: MX,
    ip: "192.0.2.25",
    family: 4,
    port: 25,
    mxPreference: 10,
    ptr: [MX],
    ptrMatches: true,
    status: "ok",
    statusDetail: null,
    verdict,
    reason: opts.reason ?? (proven ? "The server accepted relay cases that prove relaying." : "The server refused every relay case."),
    banner: p.banner,
    greetingCode: 220,
    ehloName: p.ehlo[0]!.split(" ")[0]!,
    usedHelo: false,
    extensions: ext,
    pipelining: ext.includes("PIPELINING"),
    size: null,
    auth: { mechanisms: [], offeredBeforeTls: false },
    starttls: { offered: ext.includes("STARTTLS"), required: false },
    tls: ext.includes("STARTTLS") ? goodTls() : null,
    baseline: {
      sender: SENDER,
      senderAccepted: !opts.senderRejected,
      ownDomain: OWN,
      catchAll: { [OWN]: opts.catchAll === true },
    },
    cases,
    findings: [],
    timings: { connectMs: 12, greetingMs: 30, ehloMs: 5, tlsMs: 40, totalMs: 400 },
    sessions: [{ id: 1, status: "ok", tls: true, startedMs: 0, endedMs: 400, caseIds: CATALOGUE.map((d) => d.id), detail: null }],
    transcript: transcriptFor(p, cases),
    transcriptTruncated: false,
    ...overrides,
  };
}

export function goodTls(overrides: Partial<TlsInfo> = {}): TlsInfo {
  return {
    mode: "starttls",
    protocol: "TLSv1.3",
    cipher: "TLS_AES_256_GCM_SHA384",
    subject: `CN=${MX}`,
    issuer: "C=US, O=Let's Encrypt, CN=R11",
    subjectAltNames: [MX],
    validFrom: "2024-05-01T00:00:00.000Z",
    validTo: "2024-07-30T00:00:00.000Z",
    expired: false,
    selfSigned: false,
    hostnameMatch: true,
    authorized: true,
    authorizationError: null,
    handshakeMs: 40,
    ...overrides,
  };
}

function transcriptFor(p: Profile, cases: CaseResult[]): TranscriptLine[] {
  const lines: TranscriptLine[] = [];
  let t = 0;
  const push = (dir: TranscriptLine["dir"], line: string) => lines.push({ session: 1, t: t++, dir, line });
  const multi = (code: number, texts: string[]) => texts.forEach((x, i) => push("server", `${code}${i === texts.length - 1 ? " " : "-"}${x}`));
  const replyLine = (r: Reply) => `${r.code} ${r.enhanced ? `${r.enhanced} ` : ""}${r.text}`;

  push("server", `220 ${p.banner}`);
  push("client", "EHLO relaycheck.invalid");
  multi(250, p.ehlo);
  for (const c of cases) {
    push("client", `MAIL FROM:<${c.mailFrom}>`);
    if (c.mailReply) push("server", replyLine(c.mailReply));
    if (c.stage === "rcpt") {
      push("client", `RCPT TO:<${c.rcptTo}>`);
      if (c.reply) push("server", replyLine(c.reply));
    }
    push("client", "RSET");
    push("server", p.rset);
  }
  push("client", "QUIT");
  push("server", p.quit);
  return lines;
}

/** Every string anywhere in a value (for the plain-text checks). */
export function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === "object") return Object.values(value).flatMap(allStrings);
  return [];
}
