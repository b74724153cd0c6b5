import { describe, expect, it } from "vitest";
import { UNQUALIFIED_SCOPE, addressLiteral, baselineCases, recipientCases, scopesOf, senderCases, type CaseContext } from "./cases";

const ctx: CaseContext = {
  senderLocalPart: "relaycheck",
  senderDomain: "probe.invalid",
  recipientLocalPart: "relaytest",
  recipientDomain: "outside.invalid",
  serverName: "mx.example.com",
  ip: "192.0.2.25",
  targetDomain: "example.com",
};

describe("case catalogue", () => {
  const sender = senderCases(ctx);
  const recipient = recipientCases(ctx, "relaycheck@probe.invalid");
  const all = [...sender, ...recipient];

  it("covers all 16 forms of nmap's smtp-open-relay, once each", () => {
    const forms = all.map((c) => c.nmap).filter(Boolean).sort((a, b) => a! - b!);
    expect(forms).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it("has stable, unique kebab-case ids", () => {
    const ids = all.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it.each([
    ["null-sender", "", "relaytest@outside.invalid"],
    ["third-party", "relaycheck@probe.invalid", "relaytest@outside.invalid"],
    ["sender-server-name", "relaycheck@mx.example.com", "relaytest@outside.invalid"],
    ["sender-target-domain", "relaycheck@example.com", "relaytest@outside.invalid"],
    ["sender-ip-literal", "relaycheck@[192.0.2.25]", "relaytest@outside.invalid"],
    ["sender-recipient-domain", "relaycheck@outside.invalid", "relaytest@outside.invalid"],
    ["sender-unqualified", "relaycheck", "relaytest@outside.invalid"],
    ["percent-hack-ip-literal", "relaycheck@probe.invalid", "relaytest%outside.invalid@[192.0.2.25]"],
    ["percent-hack-server-name", "relaycheck@probe.invalid", "relaytest%outside.invalid@mx.example.com"],
    ["quoted-at", "relaycheck@probe.invalid", '"relaytest@outside.invalid"'],
    ["quoted-percent", "relaycheck@probe.invalid", '"relaytest%outside.invalid"'],
    ["double-at-ip-literal", "relaycheck@probe.invalid", "relaytest@outside.invalid@[192.0.2.25]"],
    ["quoted-at-ip-literal", "relaycheck@probe.invalid", '"relaytest@outside.invalid"@[192.0.2.25]'],
    ["double-at-server-name", "relaycheck@probe.invalid", "relaytest@outside.invalid@mx.example.com"],
    ["source-route-ip-literal", "relaycheck@probe.invalid", "@[192.0.2.25]:relaytest@outside.invalid"],
    ["source-route-server-name", "relaycheck@probe.invalid", "@mx.example.com:relaytest@outside.invalid"],
    ["bang-path", "relaycheck@probe.invalid", "outside.invalid!relaytest"],
    ["bang-path-ip-literal", "relaycheck@probe.invalid", "outside.invalid!relaytest@[192.0.2.25]"],
    ["bang-path-server-name", "relaycheck@probe.invalid", "outside.invalid!relaytest@mx.example.com"],
    ["trailing-at", "relaycheck@probe.invalid", "relaytest@outside.invalid@"],
  ])("%s sends MAIL FROM:<%s> RCPT TO:<%s>", (id, mailFrom, rcptTo) => {
    expect(all.find((c) => c.id === id)).toMatchObject({ mailFrom, rcptTo });
  });

  it("pairs every sender variant with the plain outside recipient, and every trick with the accepted sender", () => {
    for (const c of sender) expect(c.rcptTo).toBe("relaytest@outside.invalid");
    for (const c of recipient) expect(c.mailFrom).toBe("relaycheck@probe.invalid");
  });

  it("marks the recipients that end in one of the server's own domains", () => {
    expect(scopesOf(recipient).sort()).toEqual([UNQUALIFIED_SCOPE, "[192.0.2.25]", "mx.example.com"].sort());
    expect(recipient.find((c) => c.id === "source-route-server-name")!.localScope).toBeNull();
  });

  it("leaves out the own-domain sender when the target is the server itself", () => {
    expect(senderCases({ ...ctx, targetDomain: null }).some((c) => c.id === "sender-target-domain")).toBe(false);
    expect(senderCases({ ...ctx, targetDomain: "mx.example.com" }).some((c) => c.id === "sender-target-domain")).toBe(false);
  });

  it("writes IPv6 address literals the SMTP way", () => {
    expect(addressLiteral("2001:db8::25")).toBe("[IPv6:2001:db8::25]");
    expect(recipientCases({ ...ctx, ip: "2001:db8::25" }, "").find((c) => c.id === "percent-hack-ip-literal")!.rcptTo).toBe("relaytest%outside.invalid@[IPv6:2001:db8::25]");
  });

  it("baseline: postmaster at the own domain and a random recipient per scope", () => {
    const base = baselineCases(ctx, "", "example.com", scopesOf(recipient), "abc");
    expect(base.map((c) => [c.id, c.rcptTo])).toEqual([
      ["baseline-postmaster", "postmaster@example.com"],
      ["baseline-catch-all-own-domain", "rc-abc@example.com"],
      ["baseline-catch-all-ip-literal", "rc-abc@[192.0.2.25]"],
      ["baseline-catch-all-server-name", "rc-abc@mx.example.com"],
      ["baseline-catch-all-unqualified", "rc-abc"],
    ]);
    expect(new Set(base.map((c) => c.id)).size).toBe(base.length);
  });
});
