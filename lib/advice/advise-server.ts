import { escapeText } from "@/lib/probe/escape-text";
import type { CaseResult, FindingId, ServerReport } from "@/lib/probe/types";
import { blocklistItems } from "./advise-blocklists";
import { classifyCase, KIND_TEXT, ownDomainsOf, ROUTING_KINDS, SENDER_KINDS, type CaseKind } from "./classify-case";
import { countCases, describeCounts, groupCases, plural, replyLine } from "./describe-cases";
import { refusalReply, summarizeServer } from "./summarize-server";
import { detectSoftware, DISPLAY_NAMES } from "./detect-software";
import {
  AUTH_ONLY_WITH_TLS,
  CLOSE_ADDRESS_TRICKS,
  CLOSE_RELAY,
  ENABLE_STARTTLS,
  FIX_CERTIFICATE,
  MODERN_TLS,
  SET_HOSTNAME,
  SET_PTR,
  STOP_SENDER_TRUST,
  TRICK_SETTINGS,
  fixFor,
} from "./software-fixes";
import type { Advice, AdviceFix, AdviceId, AdviceItem, DetectedSoftware, SoftwareName } from "./types";

/**
 * Turns one server's report into advice for its administrator:
 *
 * 1. recognise the software (detectSoftware), so fixes name its settings;
 * 2. explain the verdict: how to close an open relay (and each trick it fell for), why a result
 *    is inconclusive and what to do, what "unreachable" means;
 * 3. the other facts worth fixing: AUTH before TLS, no STARTTLS, old TLS, certificate problems,
 *    reverse DNS, a greeting without a full host name;
 * 4. the engine's own findings not already covered.
 *
 * Pure: reads the report, returns plain strings (never HTML), most severe first. Titles and
 * details quote what the server sent (replies, names, TLS errors), and a stored report may predate
 * the engine's escaping: both pass through escapeText, as the engine's reasons do.
 */
export function adviseServer(server: ServerReport): Advice {
  const software = detectSoftware(server);
  const ctx: Context = { server, software, ownDomains: ownDomainsOf(server) };
  const items = [...verdictItems(ctx), ...factItems(ctx), ...blocklistItems(server)];
  items.push(...findingItems(server, items));
  return { software, items: sortBySeverity(items).map((item) => ({ ...item, title: escapeText(item.title), detail: escapeText(item.detail) })) };
}

interface Context {
  server: ServerReport;
  software: DetectedSoftware | null;
  ownDomains: string[];
}

// ---------------------------------------------------------------------------------------------
// Verdict

function verdictItems(ctx: Context): AdviceItem[] {
  switch (ctx.server.verdict) {
    case "open-relay":
      return openRelayItems(ctx);
    case "not-open-relay":
      return notOpenRelayItems(ctx);
    case "inconclusive":
      return inconclusiveItems(ctx);
    case "unreachable":
      return [unreachableItem(ctx.server)];
  }
}

/**
 * One card per root cause, each with the fix for the detected software:
 * - plain relaying accepted: the server relays for anyone; every trick it also fell for follows
 *   from that and is named in the same card (with the settings that turn the old forms off);
 * - otherwise, recipient tricks accepted: the relay check is fooled by disguised addresses;
 * - otherwise, sender variants accepted: the server trusts the sender address.
 */
function openRelayItems(ctx: Context): AdviceItem[] {
  const { server } = ctx;
  const software = ctx.software?.name ?? null;
  const proving = relayCases(server).filter((c) => c.outcome === "accepted" && c.evidence);
  const byKind = groupByKind(proving, ctx.ownDomains);
  const tricks = ROUTING_KINDS.filter((k) => byKind.has(k));
  const senders = SENDER_KINDS.filter((k) => byKind.has(k));
  const counts = countCases(server.cases);
  const attempts = `In numbers: ${describeCounts(counts)}`;
  const casesOf = (kinds: CaseKind[]) => kinds.flatMap((k) => byKind.get(k) ?? []);
  const families = (kinds: CaseKind[], max = 4) => {
    const names = kinds.map((k) => KIND_TEXT[k].title);
    return names.length > max ? `${names.slice(0, max).join(", ")} and ${plural(names.length - max, "other form")}` : joinWords(names);
  };
  const harm = "Spammers scan for such servers all the time; once they use yours, its address lands on blocklists and your own mail stops being delivered.";

  if (byKind.has("plain") || relaysEverything(server) || (tricks.length === 0 && senders.length === 0)) {
    const plain = byKind.get("plain")?.[0] ?? proving[0];
    const others = [...tricks, ...senders];
    return [
      {
        id: "open-relay",
        severity: "critical",
        title: "This server is an open relay: anyone can send mail through it",
        detail: [
          `Without logging in, relaycheck got it to accept mail for a domain it does not host. ${harm}`,
          plain ? `For example ${example(plain)}.` : "",
          `${attempts}.`,
          others.length ? `It also fell for ${families(others)}; closing the relay closes those too.` : "",
          softwareNote(ctx),
        ]
          .filter(Boolean)
          .join(" "),
        fix: tricks.length ? withTrickSettings(fixFor(CLOSE_RELAY, software), software) : fixFor(CLOSE_RELAY, software),
        caseIds: proving.map((c) => c.id),
      },
    ];
  }

  const items: AdviceItem[] = [];
  if (tricks.length) {
    const cases = casesOf(tricks);
    items.push({
      id: "relay-address-tricks",
      severity: "critical",
      title: "It relays mail sent to disguised addresses (old address tricks)",
      detail: [
        `The server refuses plain relaying, but passes mail on when the outside address is hidden in an old routing form: ${families(tricks)}. ${harm}`,
        `For example ${example(cases[0]!)}.`,
        `${attempts}.`,
        softwareNote(ctx),
      ]
        .filter(Boolean)
        .join(" "),
      fix: fixFor(CLOSE_ADDRESS_TRICKS, software),
      caseIds: cases.map((c) => c.id),
    });
  }
  if (senders.length) {
    const cases = casesOf(senders);
    items.push({
      id: "relay-sender-trust",
      severity: "critical",
      title: "It relays mail for forged senders",
      detail: [
        `The server refuses plain relaying, but passes mail on when the sender is ${joinWords(senders.map((k) => `${articleFor(KIND_TEXT[k].title)} ${KIND_TEXT[k].title}`), "or")}: anyone can write any sender address. ${harm}`,
        `For example ${example(cases[0]!)}.`,
        tricks.length ? "" : softwareNote(ctx),
      ]
        .filter(Boolean)
        .join(" "),
      fix: fixFor(STOP_SENDER_TRUST, software),
      caseIds: cases.map((c) => c.id),
    });
  }
  return items;
}

/** The CLOSE_RELAY steps, with the settings that turn the old address forms off before the last step. */
function withTrickSettings(fix: AdviceFix, software: SoftwareName | null): AdviceFix {
  const extra = software ? TRICK_SETTINGS[software] : undefined;
  if (!extra) return fix;
  return { ...fix, steps: [...fix.steps.slice(0, -1), extra, ...fix.steps.slice(-1)] };
}

function articleFor(word: string): string {
  return /^[aeiou]/i.test(word) || /^IP/.test(word) ? "an" : "a";
}

function notOpenRelayItems(ctx: Context): AdviceItem[] {
  const { server } = ctx;
  const tried = relayCases(server);
  const items: AdviceItem[] = [
    {
      id: "not-open-relay",
      severity: "info",
      title: "Not an open relay",
      detail: [
        `relaycheck tried ${tried.length} ways of sending mail through this server to a domain it does not host, without logging in; the server refused them${commonRefusal(tried)}.`,
      ]
        .filter(Boolean)
        .join(" "),
    },
  ];
  const domainCheck = recipientDomainRejections(server);
  const refusedOutside = tried.filter((c) => c.localScope === null && c.outcome === "rejected");
  if (refusedOutside.length > 0 && domainCheck.length === refusedOutside.length) {
    items.push({
      ...recipientDomainItem(domainCheck),
      severity: "info",
      title: "The refusals were about relaycheck's test domain, not about relaying",
    });
  }
  items.push(...catchAllItems(ctx, false));
  return items;
}

function inconclusiveItems(ctx: Context): AdviceItem[] {
  const { server } = ctx;
  const causes: AdviceItem[] = [];
  const cases = relayCases(server);

  const temp = cases.filter((c) => c.outcome === "tempfail");
  if (temp.length > 0) {
    const greylisting = temp.some((c) => /gr[ae]y ?list|try again later|please retry|temporarily deferred/i.test(c.reply?.text ?? ""));
    causes.push({
      id: "inconclusive-tempfail",
      severity: "warning",
      title: greylisting ? "The server greylists: it asked relaycheck to come back later" : "The server asked relaycheck to try again later",
      detail: [
        `${temp.length} of ${cases.length} relay attempts got a temporary refusal (a 4xx reply), for example: ${listCases(temp)}.`,
        greylisting
          ? "Greylisting servers turn away the first attempt from an unknown sender and accept a retry some minutes later; a real relay check needs the retry."
          : "This is usually greylisting or a rate limit.",
        "Run the check again in 5 to 15 minutes.",
      ].join(" "),
    });
  }

  const domainCheck = recipientDomainRejections(server);
  if (domainCheck.length > 0) causes.push(recipientDomainItem(domainCheck));

  if (!server.baseline.senderAccepted) {
    const refused = cases.find((c) => c.stage === "mail" && c.mailReply) ?? cases.find((c) => c.stage === "mail");
    causes.push({
      id: "inconclusive-sender-rejected",
      severity: "warning",
      title: "The server refused relaycheck's sender address, so its relay rules were never reached",
      detail: [
        "Before any recipient, the server turned down the sender address relaycheck uses (MAIL FROM), often because that domain does not exist in DNS. That is a sensible check, but it means the relay rules were never tested.",
        refused?.reply ? `Reply: "${replyLine(refused.reply)}".` : "",
        "Whoever runs relaycheck can set a sender domain that exists (the `senderDomain` option) and check again.",
      ]
        .filter(Boolean)
        .join(" "),
    });
  }

  const errors = cases.filter((c) => c.outcome === "error");
  if (errors.length > 0) {
    const notes = [...new Set(errors.map((c) => c.note).filter((n): n is string => !!n))].slice(0, 3);
    causes.push({
      id: "inconclusive-errors",
      severity: "warning",
      title: `${errors.length} relay attempts could not be completed`,
      detail: [
        "The connection was dropped, timed out or answered out of turn, so these attempts have no answer.",
        notes.length ? `What happened: ${notes.join("; ")}.` : "",
        "Servers that punish errors (connection limits, fail2ban, tarpits) do this. Run the check again later; if it keeps happening, look at the server's log for the time of the check.",
      ]
        .filter(Boolean)
        .join(" "),
    });
  }

  causes.push(...catchAllItems(ctx, true));

  const head: AdviceItem = {
    id: "inconclusive",
    severity: "warning",
    title: "relaycheck could not tell whether this server is an open relay",
    detail: [
      summarizeServer(server),
      causes.length === 0
        ? "Run the check again in a few minutes; if the result stays the same, look at the server's log for the time of the check."
        : "The reasons, and what to do, follow.",
    ]
      .filter(Boolean)
      .join(" "),
  };
  return [head, ...causes];
}

function recipientDomainItem(cases: CaseResult[]): AdviceItem {
  return {
    id: "inconclusive-recipient-domain",
    severity: "warning",
    title: "The server checked the recipient's domain before its relay rules",
    detail: [
      "The server turned down relaycheck's test recipients because their domain does not exist (relaycheck uses a reserved name that can never exist, so no mail can ever be delivered).",
      `For example: ${listCases(cases)}.`,
      "The server never got as far as deciding whether to relay, so this says nothing about relaying to a real domain.",
      "Whoever runs relaycheck can set a real third-party test domain that they control and whose mail goes nowhere (the `recipientDomain` option) and check again.",
    ].join(" "),
  };
}

function catchAllItems(ctx: Context, inconclusive: boolean): AdviceItem[] {
  const { server } = ctx;
  const domains = Object.entries(server.baseline.catchAll)
    .filter(([, v]) => v === true)
    .map(([d]) => d);
  if (domains.length === 0) return [];
  const ambiguous = relayCases(server).filter((c) => c.outcome === "accepted" && !c.evidence);
  if (inconclusive && ambiguous.length > 0) {
    return [
      {
        id: "inconclusive-catch-all",
        severity: "warning",
        title: "Your server accepts any address at your own domain (catch-all), so some accepts prove nothing",
        detail: [
          `The server accepted ${madeUpAddress(domains)}. The trick addresses that end in your own domain were accepted too, but that is no proof of relaying: the server may simply deliver them to a local mailbox.`,
          `Accepted without proof: ${listCases(ambiguous)}.`,
          "To be sure, look in the server's log or queue for where mail to those addresses would go, or turn the catch-all off and check again.",
        ].join(" "),
      },
    ];
  }
  return [
    {
      id: "catch-all",
      severity: "info",
      title: "Your server accepts mail for any address at your domain (catch-all)",
      detail: `It accepted ${madeUpAddress(domains)}. That is not relaying, but a catch-all collects spam to mistyped and invented addresses, and can send bounces to forged senders. Consider accepting only addresses that exist.`,
    },
  ];
}

/** "a made-up address at example.com or without a domain". */
function madeUpAddress(scopes: string[]): string {
  // The engine names the scope of recipients without a domain "(unqualified)": not a domain.
  return `a made-up address ${joinWords(scopes.map((d) => (/^\(.*\)$/.test(d) ? "without a domain" : `at ${d}`)), "or")}`;
}

/** " (most answered “554 5.7.1 Relaying denied”)": the refusal most cases got. */
function commonRefusal(cases: CaseResult[]): string {
  const group = groupCases(cases).filter((g) => g.result === "refused" && g.reply).sort((a, b) => b.cases.length - a.cases.length)[0];
  if (!group?.reply) return "";
  return ` (${group.cases.length === cases.length ? "each answered" : `${group.cases.length} answered`} “${replyLine(group.reply)}”)`;
}

function unreachableItem(server: ServerReport): AdviceItem {
  const where = `${server.host === server.ip ? server.ip : `${server.host} (${server.ip})`} port ${server.port}`;
  const text = UNREACHABLE_TEXT[server.status] ?? UNREACHABLE_TEXT.closed!;
  const refusal = refusalReply(server);
  return {
    id: "unreachable",
    severity: "warning",
    title: text.title,
    detail: [
      `relaycheck could not talk to ${where}. ${text.explain}`,
      refusal ? `It answered: “${refusal}”.` : server.statusDetail ? `Detail: ${server.statusDetail}.` : "",
      "This is no verdict on relaying: a server nobody can reach cannot be abused either, but other mail servers cannot deliver to it.",
    ]
      .filter(Boolean)
      .join(" "),
    fix: { software: "Network and DNS", steps: text.steps },
  };
}

const CHECK_DNS = "Check the domain's MX records: they must name this host, and the host's A/AAAA records its public address. A domain without MX records gets mail at its own address (implicit MX), which may not run a mail server.";

const UNREACHABLE_TEXT: Partial<Record<ServerReport["status"], { title: string; explain: string; steps: string[] }>> = {
  refused: {
    title: "Nothing accepts connections on the mail port",
    explain: "The connection was refused: no mail service listens there, or a firewall rejects the connection.",
    steps: [
      "Check that the mail service runs and listens on a public address (on Linux: `ss -ltn` should list the port).",
      "Check the host's and the network's firewall allow incoming TCP on this port.",
      CHECK_DNS,
    ],
  },
  "connect-timeout": {
    title: "The mail port does not answer",
    explain:
      "The connection attempt got no answer at all: a firewall drops the traffic, the port is blocked on the way, or the host is down.",
    steps: [
      "Check the firewall, including a cloud provider's security group, allows incoming TCP on this port from anywhere.",
      "Some providers block port 25; ask yours whether it is open.",
      CHECK_DNS,
    ],
  },
  unreachable: {
    title: "The address cannot be reached",
    explain: "The network reported the address as unreachable (no route to it).",
    steps: ["Check that the address in DNS is right and that the host is online.", CHECK_DNS],
  },
  "rate-limited": {
    title: "relaycheck did not test this server this time",
    explain: "This server address was probed many times within the last hour (through this or other names that lead to it); relaycheck limits probes per server so it is never used to hammer one.",
    steps: ["Check again later: the reason above says when."],
  },
  "policy-refused": {
    title: "The mail server's address is not a public one",
    explain: "DNS points to a private, local or reserved address, which nobody on the Internet can reach; relaycheck does not connect to such addresses.",
    steps: ["Make the MX host's A/AAAA records point to the server's public address.", CHECK_DNS],
  },
  "greeting-rejected": {
    title: "The server refused our connection in its greeting",
    explain:
      "It answered the connection with a refusal instead of a greeting, usually because it blocks the network relaycheck runs from (a blocklist or a country block), so no relay test could be made.",
    steps: ["If the block is deliberate, nothing needs fixing.", "Otherwise check the server's connection rules (client blocklists, firewall-level filters)."],
  },
  "service-unavailable": {
    title: "The server said it is not available (421)",
    explain: "It closed the conversation with 421: too busy, too many connections, or it refuses this client for now.",
    steps: ["Run the check again later.", "If it persists, check the server's connection limits and log."],
  },
  timeout: {
    title: "The server went silent",
    explain: "It accepted the connection but did not answer in time: overloaded, or deliberately slow (a tarpit).",
    steps: ["Run the check again later.", "Check the server's load and any delay or tarpit settings."],
  },
  reset: {
    title: "The server cut the connection",
    explain: "The connection was reset in the middle of the conversation.",
    steps: ["Run the check again later.", "Check the server's log and any intrusion-prevention system in front of it."],
  },
  closed: {
    title: "The server closed the connection",
    explain: "It hung up without saying why.",
    steps: ["Run the check again later.", "Check the server's log for the time of the check."],
  },
  "tls-failed": {
    title: "The encrypted connection could not be set up",
    explain: "The TLS handshake failed (on port 465 the whole conversation is encrypted, so nothing else could be tested).",
    steps: ["Check the server's certificate and TLS settings for this port.", "Test with `openssl s_client -connect host:465`."],
  },
  "protocol-error": {
    title: "Something other than a mail server answers",
    explain: "The answers did not follow the SMTP protocol: another kind of service may listen on this port.",
    steps: ["Check which program listens on this port.", CHECK_DNS],
  },
  aborted: {
    title: "The check was cancelled",
    explain: "It was stopped before this server was tested.",
    steps: ["Run the check again."],
  },
};

// ---------------------------------------------------------------------------------------------
// Facts

function factItems(ctx: Context): AdviceItem[] {
  const { server } = ctx;
  const items: AdviceItem[] = [];
  const name = ctx.software?.name ?? null;
  const talked = server.greetingCode !== null && server.greetingCode >= 200 && server.greetingCode < 300;
  const submission = server.port !== 25;

  if (talked && server.auth.offeredBeforeTls && server.auth.mechanisms.length > 0) {
    items.push({
      id: "auth-before-tls",
      severity: "warning",
      title: "Passwords can be sent unencrypted",
      detail: `The server offers login (AUTH ${server.auth.mechanisms.join(" ")}) before the connection is encrypted, so a mail program may send a user's password in clear text, readable by anyone on the way. Offer AUTH only after STARTTLS.`,
      fix: fixFor(AUTH_ONLY_WITH_TLS, name),
    });
  }

  if (talked && server.port !== 465 && !server.starttls.offered) {
    items.push({
      id: "no-starttls",
      severity: "warning",
      title: "No encryption offered (no STARTTLS)",
      detail: `Mail to and from this server on port ${server.port} travels unencrypted: anyone on the way can read it${submission ? ", including users' passwords" : ""}. Most mail servers today encrypt with STARTTLS when the other side offers it.`,
      fix: fixFor(ENABLE_STARTTLS, name),
    });
  }

  const tls = server.tls;
  if (tls?.error) {
    items.push({
      id: "tls-failed",
      severity: "warning",
      title: "Encryption is offered but does not work",
      detail: `The server offers ${tls.mode === "implicit" ? "TLS" : "STARTTLS"}, but the handshake failed (${tls.error}). Senders then fall back to unencrypted mail or give up.`,
      fix: fixFor(ENABLE_STARTTLS, name),
    });
  }
  if (tls && !tls.error && tls.protocol && /^(SSLv[23]|TLSv1(\.1)?)$/.test(tls.protocol)) {
    items.push({
      id: "tls-old-protocol",
      severity: "warning",
      title: `Outdated encryption (${tls.protocol})`,
      detail: `The best the server could agree on was ${tls.protocol}, which is outdated and has known weaknesses; TLS 1.2 or 1.3 is expected today.`,
      fix: fixFor(MODERN_TLS, name),
    });
  }
  if (tls && !tls.error) {
    // On port 25, senders rarely check certificates: a flaw matters less than on submission ports.
    const certSeverity = submission ? "warning" : "info";
    if (tls.expired) {
      items.push({
        id: "cert-expired",
        severity: "warning",
        title: "The server's certificate has expired",
        detail: `The certificate ${tls.validTo ? `expired on ${tls.validTo}` : "has expired"}. Mail programs warn or refuse to connect, and senders that check certificates (MTA-STS, DANE) will not deliver.`,
        fix: FIX_CERTIFICATE.generic,
      });
    }
    if (tls.selfSigned) {
      items.push({
        id: "cert-self-signed",
        severity: certSeverity,
        title: "The server's certificate is self-signed",
        detail: `Nobody vouches for the certificate (subject: ${tls.subject ?? "unknown"}), so mail programs warn and senders that check certificates (MTA-STS, DANE) will not deliver.`,
        fix: FIX_CERTIFICATE.generic,
      });
    }
    if (tls.hostnameMatch === false) {
      items.push({
        id: "cert-hostname-mismatch",
        severity: certSeverity,
        title: "The certificate is for another name",
        detail: `The certificate does not name ${server.host} (subject: ${tls.subject ?? "unknown"}${tls.subjectAltNames.length ? `; names: ${tls.subjectAltNames.slice(0, 5).join(", ")}` : ""}). Mail programs warn, and senders that check certificates will not deliver.`,
        fix: FIX_CERTIFICATE.generic,
      });
    }
    if (!tls.authorized && !tls.expired && !tls.selfSigned && tls.authorizationError) {
      items.push({
        id: "cert-untrusted",
        severity: "info",
        title: "The certificate chain could not be verified",
        detail: `Verification failed with "${tls.authorizationError}", often because the server does not send its intermediate certificates.`,
        fix: FIX_CERTIFICATE.generic,
      });
    }
  }

  if (talked && server.ptr.length === 0) {
    items.push({
      id: "ptr-missing",
      severity: "warning",
      title: "The server's address has no reverse DNS (PTR) name",
      detail: `${server.ip} has no PTR record. Many receivers (Gmail among them) refuse or distrust mail from an address without one, so this matters if the server also sends mail.`,
      fix: SET_PTR,
    });
  } else if (talked && server.ptrMatches === false) {
    items.push({
      id: "ptr-mismatch",
      severity: "info",
      title: "Reverse DNS does not match the server's name",
      detail: `${server.ip} is named ${server.ptr.join(", ")} in reverse DNS, but the server calls itself ${server.ehloName ?? firstWord(server.banner) ?? "something else"} (or that name does not lead back to the address). Receivers that compare the names may distrust mail it sends.`,
      fix: SET_PTR,
    });
  }

  const greetingName = firstWord(server.banner);
  const badNames = [greetingName, server.ehloName].filter((n): n is string => n !== null && !isFqdn(n));
  if (talked && badNames.length > 0) {
    items.push({
      id: "greeting-not-fqdn",
      severity: "info",
      title: "The server does not introduce itself with a full host name",
      detail: `The greeting and EHLO reply should start with the server's full host name (e.g. mail.example.com); this server gives "${badNames[0]}". Some receivers score such mail as spam.`,
      fix: fixFor(SET_HOSTNAME, name),
    });
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// The engine's own findings

/**
 * Our items that already say what an engine finding says, besides the item of the same id (the
 * two PTR items cover each other: their conditions differ slightly). A new finding id fails the
 * type check until it is placed here.
 */
const COVERED_BY: Record<FindingId, readonly AdviceId[]> = {
  "auth-before-tls": [],
  "no-starttls": [],
  "tls-failed": [],
  "tls-old-protocol": [],
  "cert-expired": [],
  "cert-self-signed": [],
  "cert-hostname-mismatch": [],
  "helo-only": [],
  "ptr-missing": ["ptr-mismatch"],
  "ptr-mismatch": ["ptr-missing"],
  "cert-expires-soon": [],
  "helo-name-unresolved": [],
  // The blocklist items (advise-blocklists.ts) carry the same ids and say more.
  "dnsbl-listed": [],
  "dnsbl-domain-listed": [],
};

function findingItems(server: ServerReport, ours: AdviceItem[]): AdviceItem[] {
  const have = new Set<AdviceId>(ours.map((i) => i.id));
  const covered = (id: FindingId): boolean => have.has(id) || COVERED_BY[id].some((other) => have.has(other));
  return server.findings
    .filter((f) => !covered(f.id))
    .map((f) => ({ id: f.id, severity: f.severity, title: firstSentence(f.message), detail: f.message }));
}

// ---------------------------------------------------------------------------------------------
// Helpers

function relayCases(server: ServerReport): CaseResult[] {
  return server.cases.filter((c) => c.group !== "baseline" && c.outcome !== "skipped");
}

function groupByKind(cases: CaseResult[], ownDomains: string[]): Map<CaseKind, CaseResult[]> {
  const map = new Map<CaseKind, CaseResult[]>();
  for (const c of cases) {
    const kind = classifyCase(c, ownDomains);
    if (!kind) continue;
    map.set(kind, [...(map.get(kind) ?? []), c]);
  }
  return map;
}

/**
 * Every relay case that reached RCPT TO was accepted (refusals of an address's syntax aside):
 * e.g. the plain case never got there (its sender was refused), but everything else relays.
 */
function relaysEverything(server: ServerReport): boolean {
  const reached = relayCases(server).filter((c) => c.stage === "rcpt" && c.notRun === undefined);
  const syntax = (c: CaseResult) => c.reply !== null && (c.reply.code === 501 || /^5\.(1\.3|5\.\d+)$/.test(c.reply.enhanced ?? ""));
  const accepted = reached.filter((c) => c.outcome === "accepted" && c.evidence);
  return accepted.length > 1 && reached.every((c) => (c.outcome === "accepted" && c.evidence) || syntax(c));
}

/** Cases refused because the recipient's domain does not exist, not by a relay rule. */
function recipientDomainRejections(server: ServerReport): CaseResult[] {
  return relayCases(server).filter((c) => {
    if (c.stage !== "rcpt" || !c.reply || (c.outcome !== "rejected" && c.outcome !== "tempfail")) return false;
    const r = c.reply;
    return (
      r.enhanced === "5.1.2" ||
      r.enhanced === "4.1.2" ||
      /Domain not found|domain (does not|doesn't) exist|Unrouteable address|Host or domain name not found|no such domain|unknown domain|RESOLVER\.ADR\.RecipientDomainNotFound/i.test(r.text)
    );
  });
}

/** Cases by their titles (ids stay in `caseIds`), each with what was sent and answered. */
function listCases(cases: CaseResult[], max = 2): string {
  const more = cases.length > max ? `, and ${cases.length - max} more` : "";
  return cases.slice(0, max).map(example).join("; ") + more;
}

/** "“Percent hack via the server name”: RCPT TO:<…> → 250 2.1.5 Ok". */
function example(c: CaseResult): string {
  const sender = c.group === "sender" && !/third-party|plain/.test(c.id);
  const envelope = sender ? `MAIL FROM:<${c.mailFrom}> RCPT TO:<${c.rcptTo}>` : `RCPT TO:<${c.rcptTo}>`;
  return `“${c.title}”: ${envelope}${c.reply ? ` → ${replyLine(c.reply)}` : ""}`;
}

/** "a, b and c". */
function joinWords(words: string[], last = "and"): string {
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} ${last} ${words.at(-1)}`;
}

function softwareNote(ctx: Context): string {
  const s = ctx.software;
  if (!s) return "relaycheck could not tell which software the server runs, so the steps below are general.";
  const label = DISPLAY_NAMES[s.name];
  if (s.confidence === "low") {
    return `The server seems to run ${label}, but relaycheck is not sure; if it runs something else, the same ideas apply: relay only for logged-in users and your own machines.`;
  }
  // Said once beside the advice (the software line of the page, the CLI's heading): not again here.
  return "";
}

function firstWord(banner: string | null): string | null {
  if (!banner) return null;
  const first = banner.split("\n")[0]!.replace(/^\d{3}[ -]?/, "").trim();
  return first.split(/\s+/)[0] || null;
}

function isFqdn(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  if (/^\[.*\]$/.test(n) || /^[\d.]+$/.test(n) || n.includes(":")) return false;
  if (!n.includes(".") || /(^|\.)(localhost|localdomain|local|lan|internal)$/.test(n)) return false;
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(n);
}

function firstSentence(message: string): string {
  const m = /^(.+?[.!?])(\s|$)/.exec(message.trim());
  const s = (m ? m[1]! : message.trim()).replace(/[.!?]$/, "");
  return s.length > 100 ? `${s.slice(0, 99)}…` : s;
}

const SEVERITY_RANK: Record<AdviceItem["severity"], number> = { critical: 0, warning: 1, info: 2 };

function sortBySeverity(items: AdviceItem[]): AdviceItem[] {
  return items.map((item, i) => ({ item, i })).sort((a, b) => SEVERITY_RANK[a.item.severity] - SEVERITY_RANK[b.item.severity] || a.i - b.i).map(({ item }) => item);
}

