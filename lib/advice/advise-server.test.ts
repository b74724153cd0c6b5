import { describe, expect, it } from "vitest";
import { FINDING_IDS, type ServerReport } from "@/lib/probe/types";
import { adviseServer } from "./advise-server";
import type { AdviceItem } from "./types";
import { allStrings, goodTls, MX, OWN, reply, scenario, THIRD, type ProfileName } from "./test-fixtures";

const ids = (items: AdviceItem[]) => items.map((i) => i.id);
const item = (items: AdviceItem[], id: string) => {
  const found = items.find((i) => i.id === id);
  if (!found) throw new Error(`no item ${id} in ${ids(items).join(", ")}`);
  return found;
};
const steps = (i: AdviceItem) => i.fix?.steps.join("\n") ?? "";

describe("open relay: how to close it on the detected software", () => {
  const table: { profile: ProfileName; software: string; setting: RegExp }[] = [
    { profile: "postfix", software: "Postfix", setting: /smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination/ },
    { profile: "postfix", software: "Postfix", setting: /mynetworks_style = host/ },
    { profile: "exim", software: "Exim", setting: /hostlist relay_from_hosts = localhost/ },
    { profile: "exim", software: "Exim", setting: /require message = relay not permitted/ },
    { profile: "sendmail", software: "Sendmail", setting: /FEATURE\(`promiscuous_relay'\)/ },
    { profile: "sendmail", software: "Sendmail", setting: /makemap hash \/etc\/mail\/access/ },
    { profile: "exchange", software: "Microsoft Exchange", setting: /Remove-ADPermission -User "NT AUTHORITY\\ANONYMOUS LOGON" -ExtendedRights "Ms-Exch-SMTP-Accept-Any-Recipient"/ },
    { profile: "opensmtpd", software: "OpenSMTPD", setting: /match from local for any action "outbound"/ },
    { profile: "haraka", software: "Haraka", setting: /relay_acl_allow/ },
    { profile: "qmail", software: "qmail", setting: /rcpthosts/ },
    { profile: "microsoft-365", software: "Microsoft 365 (Exchange Online)", setting: /Mail flow → Connectors/ },
    { profile: "google", software: "Google Workspace", setting: /SMTP relay service/ },
  ];
  it.each(table)("$profile → $software: $setting", ({ profile, software, setting }) => {
    const advice = adviseServer(scenario(profile, { accept: ["plain-third-party", "null-sender"] }));
    const first = advice.items[0]!;
    expect(first).toMatchObject({ id: "open-relay", severity: "critical" });
    expect(first.fix?.software).toBe(software);
    expect(steps(first)).toMatch(setting);
    // Human titles in the sentence; the ids only in caseIds.
    expect(first.detail).toContain("Plain relay to a third party");
    expect(first.detail).not.toMatch(/plain-third-party/);
    expect(first.caseIds).toEqual(["plain-third-party", "null-sender"]);
    expect(first.detail).toContain(`RCPT TO:<relaytest@${THIRD}>`);
  });

  it("unknown software gets the general steps", () => {
    const server = scenario("postfix", { accept: ["plain-third-party"] }, { banner: `${MX} ESMTP`, extensions: ["PIPELINING"], transcript: [] });
    server.cases = server.cases.map((c) => ({ ...c, reply: c.reply && { ...c.reply, text: "ok" }, mailReply: null }));
    const advice = adviseServer(server);
    expect(advice.software).toBeNull();
    const open = item(advice.items, "open-relay");
    expect(open.fix?.software).toBe("Any mail server");
    expect(open.detail).toMatch(/could not tell which software/);
  });
});

describe("open relay: one card per root cause", () => {
  const table: { accept: string[]; id: string; profile: ProfileName; setting: RegExp; names: RegExp }[] = [
    { accept: ["percent-hack-server-name"], id: "relay-address-tricks", profile: "postfix", setting: /allow_percent_hack = no/, names: /percent hack/ },
    { accept: ["percent-hack-server-name"], id: "relay-address-tricks", profile: "exim", setting: /percent_hack_domains/, names: /percent hack/ },
    { accept: ["percent-hack-server-name"], id: "relay-address-tricks", profile: "sendmail", setting: /loose_relay_check/, names: /percent hack/ },
    { accept: ["bang-path-server-name"], id: "relay-address-tricks", profile: "sendmail", setting: /FEATURE\(`nouucp', `reject'\)/, names: /bang path/ },
    { accept: ["bang-path-server-name"], id: "relay-address-tricks", profile: "postfix", setting: /swap_bangpath = no/, names: /bang path/ },
    { accept: ["source-route"], id: "relay-address-tricks", profile: "postfix", setting: /allow_untrusted_routing = no/, names: /source route/ },
    { accept: ["quoted-local-part"], id: "relay-address-tricks", profile: "postfix", setting: /resolve_dequoted_address = yes/, names: /quoted local part/ },
    { accept: ["double-at"], id: "relay-address-tricks", profile: "exim", setting: /Restricted characters in address/, names: /double @/ },
    { accept: ["sender-own-domain"], id: "relay-sender-trust", profile: "sendmail", setting: /relay_local_from/, names: /forged sender from your own domain/ },
    { accept: ["sender-own-domain"], id: "relay-sender-trust", profile: "exim", setting: /sender_domains/, names: /forged sender/ },
    { accept: ["null-sender"], id: "relay-sender-trust", profile: "postfix", setting: /check_sender_access/, names: /empty sender/ },
  ];
  it.each(table)("$profile accepts $accept → $id", ({ accept, id, profile, setting, names }) => {
    const advice = adviseServer(scenario(profile, { accept }));
    // Plain relaying was refused: the trick alone makes the server an open relay, in one card.
    expect(advice.items.filter((i) => i.severity === "critical").map((i) => i.id)).toEqual([id]);
    const card = item(advice.items, id);
    expect(card.detail).toMatch(/refuses plain relaying/);
    expect(card.detail).toMatch(names);
    expect(card.detail).not.toContain(accept[0]);
    expect(card.caseIds).toEqual(accept);
    expect(steps(card)).toMatch(setting);
  });

  it("a server that relays anything gets one critical card; the tricks it also fell for are named in it", () => {
    const advice = adviseServer(scenario("postfix", { accept: ["plain-third-party", "source-route", "percent-hack-server-name", "null-sender"] }));
    expect(advice.items.filter((i) => i.severity === "critical").map((i) => i.id)).toEqual(["open-relay"]);
    expect(ids(advice.items).filter((i) => i.startsWith("relay-"))).toEqual([]);
    const open = item(advice.items, "open-relay");
    expect(open.detail).toMatch(/also fell for percent hack, source route and empty sender/);
    expect(open.caseIds).toHaveLength(4);
    // The relay fix, then the settings that turn the old forms off, then the reload.
    expect(steps(open)).toMatch(/smtpd_relay_restrictions/);
    expect(open.fix!.steps.at(-2)).toMatch(/allow_percent_hack = no.*swap_bangpath = no.*allow_untrusted_routing = no/);
    expect(open.fix!.steps.at(-1)).toMatch(/postfix reload/);
  });

  it("without tricks the open-relay fix has no trick step", () => {
    const open = item(adviseServer(scenario("postfix", { accept: ["plain-third-party"] })).items, "open-relay");
    expect(steps(open)).not.toMatch(/allow_percent_hack/);
  });

  it("tricks and forged senders without plain relaying: two causes, two cards, each with its own fix", () => {
    const advice = adviseServer(scenario("postfix", { accept: ["percent-hack-server-name", "bang-path-server-name", "null-sender"] }));
    expect(advice.items.filter((i) => i.severity === "critical").map((i) => i.id)).toEqual(["relay-address-tricks", "relay-sender-trust"]);
    expect(item(advice.items, "relay-address-tricks").detail).toMatch(/percent hack and bang path/);
    expect(steps(item(advice.items, "relay-sender-trust"))).toMatch(/permit_sasl_authenticated/);
  });
});

describe("not an open relay", () => {
  it("says so in one info item, without a fix", () => {
    const advice = adviseServer(scenario("postfix"));
    expect(advice.items[0]).toMatchObject({ id: "not-open-relay", severity: "info" });
    expect(advice.items[0]!.fix).toBeUndefined();
    expect(advice.items[0]!.detail).toMatch(/tried 9 ways/);
  });

  it("notes a catch-all without calling it relaying", () => {
    const advice = adviseServer(scenario("postfix", { catchAll: true }, { verdict: "not-open-relay" }));
    expect(item(advice.items, "catch-all").severity).toBe("info");
  });
});

describe("inconclusive: why, and what to do", () => {
  const relayIds = ["plain-third-party", "null-sender", "sender-own-domain", "sender-ip-literal", "source-route"];

  it("greylisting → run again in a few minutes", () => {
    const grey = reply(450, "4.2.0", `<relaytest@${THIRD}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html`);
    const advice = adviseServer(scenario("postfix", { tempfail: { ids: relayIds, reply: grey }, verdict: "inconclusive", reason: "Every relay case was deferred (4xx)." }));
    expect(ids(advice.items)).toEqual(expect.arrayContaining(["inconclusive", "inconclusive-tempfail"]));
    const t = item(advice.items, "inconclusive-tempfail");
    expect(t.title).toMatch(/greylists/);
    expect(t.detail).toMatch(/again in 5 to 15 minutes/);
    // The head card sums up in words and counts, not the engine's reason.
    expect(item(advice.items, "inconclusive").detail).toMatch(/deferred 5 of 9 relay attempts with a temporary failure \(“450 4\.2\.0 Recipient address rejected: Greylisted/);
  });

  it("catch-all → the accepted tricks at the own domain are no proof", () => {
    const advice = adviseServer(scenario("exim", { catchAll: true, verdict: "inconclusive" }));
    const c = item(advice.items, "inconclusive-catch-all");
    expect(c.detail).toMatch(/no proof of relaying/);
    expect(c.detail).toContain("Percent hack via the server name");
    expect(c.detail).not.toContain("percent-hack-server-name");
    expect(ids(advice.items)).not.toContain("catch-all");
  });

  it("4.1.2/5.1.2 on the test domain → set a real third-party test domain", () => {
    const noDomain = reply(450, "4.1.2", `<relaytest@${THIRD}>: Recipient address rejected: Domain not found`);
    const advice = adviseServer(scenario("postfix", { reject: { ids: relayIds, reply: noDomain }, verdict: "inconclusive" }));
    const d = item(advice.items, "inconclusive-recipient-domain");
    expect(d.detail).toMatch(/recipientDomain/);
    expect(d.detail).toMatch(/never got as far as deciding whether to relay/);
  });

  it("the probe's sender refused at MAIL FROM → set a sender domain that exists", () => {
    const refused = reply(553, "5.1.8", "<relaycheck@relaycheck.invalid>: Sender address rejected: Domain not found");
    const advice = adviseServer(scenario("postfix", { senderRejected: refused, verdict: "inconclusive" }));
    const s = item(advice.items, "inconclusive-sender-rejected");
    expect(s.detail).toMatch(/senderDomain/);
    expect(s.detail).toContain("553 5.1.8");
  });

  it("dropped connections → run again later, with the engine's notes", () => {
    const advice = adviseServer(scenario("exim", { error: ["source-route", "double-at"], verdict: "inconclusive" }));
    const e = item(advice.items, "inconclusive-errors");
    expect(e.title).toMatch(/^2 relay attempts/);
    expect(e.detail).toMatch(/closed the connection after RCPT TO/);
  });

  it("no recognisable cause → still says what to do", () => {
    const advice = adviseServer(scenario("postfix", { verdict: "inconclusive", reason: "" }));
    expect(item(advice.items, "inconclusive").detail).toMatch(/Run the check again/);
  });
});

describe("unreachable: what it means", () => {
  const table: { status: ServerReport["status"]; title: RegExp; step: RegExp }[] = [
    { status: "refused", title: /Nothing accepts connections/, step: /ss -ltn/ },
    { status: "connect-timeout", title: /does not answer/, step: /block port 25/ },
    { status: "policy-refused", title: /not a public one/, step: /public address/ },
    { status: "greeting-rejected", title: /refused our connection in its greeting/, step: /deliberate/ },
    { status: "service-unavailable", title: /421/, step: /again later/ },
    { status: "protocol-error", title: /other than a mail server/, step: /MX records/ },
  ];
  it.each(table)("$status", ({ status, title, step }) => {
    const server = scenario("postfix", { verdict: "unreachable" }, {
      status,
      banner: null,
      greetingCode: null,
      ehloName: null,
      extensions: [],
      cases: [],
      transcript: [],
      tls: null,
      starttls: { offered: false, required: false },
      ptr: [],
    });
    const advice = adviseServer(server);
    expect(ids(advice.items)).toEqual(["unreachable"]);
    expect(advice.items[0]!.title).toMatch(title);
    expect(steps(advice.items[0]!)).toMatch(step);
    expect(advice.items[0]!.detail).toContain("192.0.2.25");
  });
});

describe("other findings, derived from the facts", () => {
  const table: { title: string; profile: ProfileName; over: Parameters<typeof scenario>[2]; id: string; severity: string; text: RegExp }[] = [
    {
      title: "AUTH before TLS on Postfix",
      profile: "postfix",
      over: { auth: { mechanisms: ["PLAIN", "LOGIN"], offeredBeforeTls: true } },
      id: "auth-before-tls",
      severity: "warning",
      text: /smtpd_tls_auth_only = yes/,
    },
    {
      title: "AUTH before TLS on Exim",
      profile: "exim",
      over: { auth: { mechanisms: ["PLAIN"], offeredBeforeTls: true } },
      id: "auth-before-tls",
      severity: "warning",
      text: /auth_advertise_hosts = \$\{if eq\{\$tls_in_cipher\}\{\}\{\}\{\*\}\}/,
    },
    {
      title: "AUTH before TLS on Exchange",
      profile: "exchange",
      over: { auth: { mechanisms: ["NTLM", "LOGIN"], offeredBeforeTls: true } },
      id: "auth-before-tls",
      severity: "warning",
      text: /BasicAuthRequireTLS/,
    },
    {
      title: "no STARTTLS on port 25",
      profile: "postfix",
      over: { starttls: { offered: false, required: false }, tls: null },
      id: "no-starttls",
      severity: "warning",
      text: /smtpd_tls_security_level = may/,
    },
    { title: "TLS 1.0", profile: "exim", over: { tls: goodTls({ protocol: "TLSv1" }) }, id: "tls-old-protocol", severity: "warning", text: /no_tlsv1_1/ },
    { title: "expired certificate", profile: "postfix", over: { tls: goodTls({ expired: true, authorized: false, authorizationError: "CERT_HAS_EXPIRED" }) }, id: "cert-expired", severity: "warning", text: /Let's Encrypt/ },
    { title: "self-signed on port 25", profile: "postfix", over: { tls: goodTls({ selfSigned: true, authorized: false }) }, id: "cert-self-signed", severity: "info", text: /public CA/ },
    { title: "self-signed on port 587", profile: "postfix", over: { port: 587, tls: goodTls({ selfSigned: true, authorized: false }) }, id: "cert-self-signed", severity: "warning", text: /public CA/ },
    { title: "host name mismatch", profile: "postfix", over: { tls: goodTls({ hostnameMatch: false, subject: "CN=localhost" }) }, id: "cert-hostname-mismatch", severity: "info", text: /MX host name/ },
    { title: "incomplete chain", profile: "postfix", over: { tls: goodTls({ authorized: false, authorizationError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }) }, id: "cert-untrusted", severity: "info", text: /intermediate/ },
    { title: "TLS handshake failed", profile: "postfix", over: { tls: goodTls({ error: "wrong version number" }) }, id: "tls-failed", severity: "warning", text: /smtpd_tls_cert_file/ },
    { title: "no PTR", profile: "postfix", over: { ptr: [] }, id: "ptr-missing", severity: "warning", text: /PTR record/ },
    { title: "PTR mismatch", profile: "postfix", over: { ptr: ["host-192-0-2-25.isp.example"], ptrMatches: false }, id: "ptr-mismatch", severity: "info", text: /reverse DNS/ },
    { title: "greeting without a FQDN (Postfix)", profile: "postfix", over: { banner: "localhost ESMTP Postfix", ehloName: "localhost" }, id: "greeting-not-fqdn", severity: "info", text: /myhostname = mail\.example\.com/ },
    { title: "greeting without a FQDN (Exchange)", profile: "exchange", over: { banner: "EXCH01 Microsoft ESMTP MAIL Service ready", ehloName: "EXCH01" }, id: "greeting-not-fqdn", severity: "info", text: /-Fqdn mail\.example\.com/ },
  ];
  it.each(table)("$title → $id ($severity)", ({ profile, over, id, severity, text }) => {
    const advice = adviseServer(scenario(profile, {}, over));
    const found = item(advice.items, id);
    expect(found.severity).toBe(severity);
    expect(steps(found) + found.detail).toMatch(text);
  });

  it("a healthy closed server has nothing else to say", () => {
    expect(ids(adviseServer(scenario("postfix")).items)).toEqual(["not-open-relay"]);
  });

  it("implicit TLS on 465 is not 'no STARTTLS'", () => {
    const advice = adviseServer(scenario("postfix", {}, { port: 465, starttls: { offered: false, required: false }, tls: goodTls({ mode: "implicit" }) }));
    expect(ids(advice.items)).not.toContain("no-starttls");
  });
});

describe("the engine's findings", () => {
  it("passes on findings it has nothing to add to, and skips those it covers", () => {
    const advice = adviseServer(
      scenario("postfix", {}, {
        auth: { mechanisms: ["PLAIN"], offeredBeforeTls: true },
        findings: [
          { id: "auth-before-tls", severity: "warning", message: "AUTH (PLAIN) is offered before TLS." },
          { id: "helo-only", severity: "info", message: "The server does not understand EHLO (ESMTP); only HELO works." },
        ],
      }),
    );
    expect(ids(advice.items).filter((i) => i.startsWith("auth"))).toEqual(["auth-before-tls"]);
    expect(item(advice.items, "helo-only")).toMatchObject({ severity: "info", title: "The server does not understand EHLO (ESMTP); only HELO works" });
  });

  it.each(FINDING_IDS)("%s: said once, by our item or passed on", (id) => {
    const advice = adviseServer(scenario("postfix", {}, { findings: [{ id, severity: "info", message: "A finding. With detail." }] }));
    const said = ids(advice.items);
    expect(said.filter((i) => i === id).length).toBeLessThanOrEqual(1);
    expect(new Set(said).size).toBe(said.length);
  });
});

describe("output form", () => {
  it("orders items most severe first", () => {
    const advice = adviseServer(scenario("postfix", { accept: ["percent-hack-server-name"] }, { ptr: [], banner: "localhost ESMTP Postfix" }));
    const rank = { critical: 0, warning: 1, info: 2 };
    const ranks = advice.items.map((i) => rank[i.severity]);
    expect(ranks).toEqual([...ranks].sort());
  });

  const HTML = /<\/?(a|b|i|em|strong|code|pre|br|p|span|div|ul|ol|li|script|style|img|table|tr|td)\b[^>]*>|&(lt|gt|amp|quot|#\d+);/i;
  const profiles: ProfileName[] = ["postfix", "exim", "sendmail", "exchange", "opensmtpd", "haraka", "qmail", "google", "microsoft-365"];
  it.each(profiles)("%s: plain strings only, no HTML", (profile) => {
    const open = adviseServer(
      scenario(profile, { accept: ["plain-third-party", "percent-hack-server-name", "sender-own-domain"] }, {
        auth: { mechanisms: ["PLAIN"], offeredBeforeTls: true },
        tls: goodTls({ protocol: "TLSv1", selfSigned: true, hostnameMatch: false }),
        ptr: [],
      }),
    );
    const strings = allStrings(open);
    expect(strings.length).toBeGreaterThan(20);
    for (const s of strings) expect(s).not.toMatch(HTML);
  });

  it("server text that looks like HTML is passed on verbatim, as text", () => {
    const banner = `${MX} ESMTP <script>alert(1)</script>`;
    const advice = adviseServer(scenario("postfix", {}, { banner: `${MX} ESMTP Postfix ${banner}` }));
    const text = allStrings(advice).join("\n");
    expect(text).toContain("<script>alert(1)</script>");
    expect(text).not.toContain("&lt;script");
  });

  // A stored report may predate the engine's escaping: its raw words still reach the advice escaped.
  const RLO = "\u202E";
  // eslint-disable-next-line no-control-regex
  const BIDI_OR_CONTROL = /[\u0000-\u0008\u000a-\u001f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
  it.each<[string, ServerReport]>([
    ["refusal quoted", scenario("postfix", { reject: { ids: ["plain-third-party"], reply: reply(550, "5.1.2", `Domain ${RLO}not found`) }, verdict: "inconclusive" })],
    ["acceptance quoted", scenario("postfix", { accept: ["plain-third-party"] }, { ehloName: `mx${RLO}` })],
    ["sender refusal quoted", scenario("exim", { senderRejected: reply(550, null, `no ${RLO}such sender`), verdict: "inconclusive" })],
    ["TLS error and certificate quoted", scenario("postfix", {}, { tls: goodTls({ selfSigned: true, hostnameMatch: false, subject: `CN=${RLO}moc.elpmaxe` }) })],
    ["greeting name and PTR quoted", scenario("postfix", {}, { banner: `mail${RLO}box ESMTP Postfix`, ptrMatches: false, ptr: [`ptr${RLO}.example.net`] })],
    ["status detail quoted", scenario("postfix", { verdict: "unreachable" }, { status: "greeting-rejected", statusDetail: `554 ${RLO}go away\u001b[2J`, cases: [] })],
    ["finding quoted", scenario("postfix", {}, { findings: [{ id: "ptr-mismatch", severity: "info", message: `Odd ${RLO}thing.` }] })],
  ])("%s: bidi and control characters escaped in titles, details and evidence", (_name, server) => {
    const advice = adviseServer(server);
    const text = [...advice.items.flatMap((i) => [i.title, i.detail]), ...(advice.software?.evidence ?? [])].join(" ");
    expect(text).toContain("\\u{202e}");
    expect(text).not.toMatch(BIDI_OR_CONTROL);
  });

  it("is JSON-serialisable and deterministic", () => {
    const server = scenario("exim", { accept: ["plain-third-party"] });
    expect(JSON.parse(JSON.stringify(adviseServer(server)))).toEqual(adviseServer(server));
  });
});

describe("wording", () => {
  it("names the scope of recipients without a domain in words, not as “(unqualified)”", () => {
    const server = scenario("postfix", {}, { verdict: "not-open-relay" });
    server.baseline.catchAll = { "(unqualified)": true, [OWN]: false };
    const text = item(adviseServer(server).items, "catch-all").detail;
    expect(text).toMatch(/It accepted a made-up address without a domain\./);
    expect(text).not.toContain("(unqualified)");
  });

  it("does not repeat an address the server is named by", () => {
    const server = scenario("postfix", { verdict: "unreachable" }, { host: "192.0.2.25", status: "refused", cases: [], banner: null, greetingCode: null });
    const detail = item(adviseServer(server).items, "unreachable").detail;
    expect(detail).toContain("could not talk to 192.0.2.25 port 25.");
    expect(detail).not.toContain("192.0.2.25 (192.0.2.25)");
  });

  it("quotes the refusal of a server that turned us away in its greeting", () => {
    const server = scenario("postfix", { verdict: "unreachable" }, {
      status: "greeting-rejected",
      statusDetail: "554 5.7.1 blocked",
      cases: [],
      banner: null,
      greetingCode: null,
      transcript: [
        { session: 1, t: 0, dir: "info", line: "connecting to 192.0.2.25:25" },
        { session: 1, t: 2, dir: "server", line: "554-5.7.1 mx.example.com blocked" },
        { session: 1, t: 2, dir: "server", line: "554 5.7.1 your network is listed" },
      ],
    });
    expect(item(adviseServer(server).items, "unreachable").detail).toContain("It answered: “554 5.7.1 mx.example.com blocked 5.7.1 your network is listed”.");
  });
});
