import { describe, expect, it } from "vitest";
import { detectSoftware } from "./detect-software";
import { PROFILES, scenario, type ProfileName } from "./test-fixtures";

describe("detectSoftware: each software from its own conversation", () => {
  const table: { profile: ProfileName; open: boolean; name: string; confidence: string }[] = [
    { profile: "postfix", open: false, name: "postfix", confidence: "high" },
    { profile: "postfix", open: true, name: "postfix", confidence: "high" },
    { profile: "exim", open: false, name: "exim", confidence: "high" },
    { profile: "exim", open: true, name: "exim", confidence: "high" },
    { profile: "sendmail", open: false, name: "sendmail", confidence: "high" },
    { profile: "exchange", open: false, name: "exchange", confidence: "high" },
    { profile: "exchange", open: true, name: "exchange", confidence: "high" },
    { profile: "opensmtpd", open: false, name: "opensmtpd", confidence: "high" },
    { profile: "haraka", open: false, name: "haraka", confidence: "high" },
    { profile: "qmail", open: false, name: "qmail", confidence: "high" },
    { profile: "google", open: false, name: "google", confidence: "high" },
    { profile: "microsoft-365", open: false, name: "microsoft-365", confidence: "high" },
  ];
  it.each(table)("$profile (open: $open) → $name, $confidence", ({ profile, open, name, confidence }) => {
    const server = scenario(profile, open ? { accept: ["plain-third-party"] } : {});
    const found = detectSoftware(server);
    expect(found?.name).toBe(name);
    expect(found?.confidence).toBe(confidence);
    expect(found?.evidence.length).toBeGreaterThan(1);
  });
});

describe("detectSoftware: the greeting never decides against the behaviour", () => {
  const table: { title: string; profile: ProfileName; banner: string; name: string; confidence: string; note: RegExp }[] = [
    {
      title: "Postfix behind a Microsoft greeting",
      profile: "postfix",
      banner: "mail.example.com Microsoft ESMTP MAIL Service ready at Mon, 3 Jun 2024 10:00:00 +0000",
      name: "postfix",
      confidence: "medium",
      note: /claims Microsoft Exchange.*Postfix/,
    },
    {
      title: "Exchange behind a Postfix greeting",
      profile: "exchange",
      banner: "mail.example.com ESMTP Postfix",
      name: "exchange",
      confidence: "medium",
      note: /claims Postfix.*Microsoft Exchange/,
    },
    {
      title: "Exim pretending to be Sendmail",
      profile: "exim",
      banner: "mail.example.com ESMTP Sendmail 8.17.1/8.17.1",
      name: "exim",
      confidence: "medium",
      note: /claims Sendmail/,
    },
  ];
  it.each(table)("$title", ({ profile, banner, name, confidence, note }) => {
    const server = scenario(profile, {}, { banner });
    const found = detectSoftware(server)!;
    expect(found.name).toBe(name);
    expect(found.confidence).toBe(confidence);
    expect(found.evidence.join("\n")).toMatch(note);
  });

  it("a hidden greeting (bare ESMTP) does not lower the confidence", () => {
    const found = detectSoftware(scenario("postfix", {}, { banner: "mail.example.com ESMTP" }));
    expect(found).toMatchObject({ name: "postfix", confidence: "high" });
  });

  it("no greeting at all: behaviour alone names the software", () => {
    const found = detectSoftware(scenario("exim", {}, { banner: null }));
    expect(found).toMatchObject({ name: "exim", confidence: "high" });
  });
});

describe("detectSoftware: weak or missing evidence", () => {
  const silent = (banner: string | null, extra: Partial<Parameters<typeof scenario>[2]> = {}) =>
    scenario("postfix", {}, { banner, extensions: [], cases: [], transcript: [], ehloName: null, ...extra });

  it("banner words only → low confidence, said as a guess", () => {
    const found = detectSoftware(silent("mail.example.com ESMTP Postfix (Ubuntu)"));
    expect(found?.name).toBe("postfix");
    expect(found?.confidence).toBe("low");
    expect(found?.evidence.join(" ")).toMatch(/guess/);
  });

  it("nothing recognisable → null", () => {
    expect(detectSoftware(silent("mail.example.com ESMTP ready", { extensions: ["PIPELINING", "SIZE 1000", "8BITMIME"] }))).toBeNull();
    expect(detectSoftware(silent(null))).toBeNull();
  });

  it("a bare greeting alone is no guess", () => {
    expect(detectSoftware(silent("mail.example.com ESMTP"))).toBeNull();
  });

  it("evidence shared equally by two products → null", () => {
    const server = silent("mail.example.com ESMTP", {
      transcript: [
        { session: 1, t: 0, dir: "server", line: "220 mail.example.com ESMTP" },
        { session: 1, t: 1, dir: "client", line: "QUIT" },
        { session: 1, t: 2, dir: "server", line: "221 2.0.0 Bye" },
      ],
    });
    expect(detectSoftware(server)).toBeNull();
  });

  it("a weak hint against a named greeting → null rather than a guess either way", () => {
    // Exim's HELP-without-enhanced-codes habit (weight 1) against a greeting naming Postfix.
    expect(detectSoftware(silent("mail.example.com ESMTP Postfix", { extensions: ["SIZE 1000", "HELP"] }))).toBeNull();
  });

  it("moderate evidence against a named greeting → the behaviour wins, at low confidence", () => {
    const server = silent("mail.example.com ESMTP Exim 4.96", { extensions: ["VRFY", "ETRN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN"] });
    const found = detectSoftware(server);
    // Postfix's extension set (weight 3) is moderate evidence: it wins, at low confidence.
    expect(found).toMatchObject({ name: "postfix", confidence: "low" });
  });

  it("greeting lines in the transcript are not counted as behaviour", () => {
    const server = silent("mail.example.com ESMTP Postfix", {
      transcript: [{ session: 1, t: 0, dir: "server", line: "220 mail.example.com ESMTP Postfix Relay access denied" }],
    });
    expect(detectSoftware(server)?.confidence).toBe("low");
  });

  it("quotes what the server said", () => {
    const found = detectSoftware(scenario("postfix", { accept: [] }))!;
    expect(found.evidence.some((e) => e.includes("Relay access denied"))).toBe(true);
    expect(found.evidence.some((e) => e.includes(PROFILES.postfix.banner))).toBe(true);
  });
});

describe("detectSoftware: one vendor phrase", () => {
  const table: { text: string; code: number; name: string }[] = [
    { code: 550, text: "Delivery is not allowed to this address.", name: "hmailserver" },
    {
      code: 503,
      text: "This mail server requires authentication when attempting to send to a non-local e-mail address. Please check your mail client settings or contact your administrator to verify that the domain or address is defined for this server.",
      name: "mailenable",
    },
    { code: 554, text: "<relaytest@relay-target.invalid>: Relay access denied", name: "postfix" },
  ];
  it.each(table)("$name from its refusal alone → medium", ({ code, text, name }) => {
    const server = scenario("postfix", {}, { banner: "mail.example.com ESMTP", extensions: [], transcript: [], ehloName: null });
    server.cases = server.cases.map((c) => ({ ...c, mailReply: null, reply: { code, enhanced: null, text } }));
    expect(detectSoftware(server)).toMatchObject({ name, confidence: "medium" });
  });
});
