import { describe, expect, it } from "vitest";
import type { CaseResult } from "@/lib/probe/types";
import { classifyCase } from "./classify-case";

const own = ["example.com", "mail.example.com"];
const make = (id: string, group: CaseResult["group"], mailFrom: string, rcptTo: string): CaseResult => ({
  id,
  title: id,
  group,
  mailFrom,
  rcptTo,
  localScope: null,
  outcome: "accepted",
  stage: "rcpt",
  reply: null,
  mailReply: null,
  evidence: true,
  note: null,
  session: 1,
  tls: false,
  durationMs: 1,
  attempts: 1,
});

describe("classifyCase: by the addresses, whatever the id", () => {
  const table: [CaseResult["group"], string, string, string | null][] = [
    ["baseline", "a@relaycheck.invalid", "postmaster@example.com", null],
    ["recipient", "a@relaycheck.invalid", "relaytest@relay-target.invalid", "plain"],
    ["recipient", "a@relaycheck.invalid", "relaytest%relay-target.invalid@[192.0.2.25]", "percent-hack"],
    ["recipient", "a@relaycheck.invalid", "relay-target.invalid!relaytest@mail.example.com", "bang-path"],
    ["recipient", "a@relaycheck.invalid", "relay-target.invalid!relaytest", "bang-path"],
    ["recipient", "a@relaycheck.invalid", "@mail.example.com:relaytest@relay-target.invalid", "source-route"],
    ["recipient", "a@relaycheck.invalid", '"relaytest@relay-target.invalid"@mail.example.com', "quoted-local-part"],
    ["recipient", "a@relaycheck.invalid", '"relaytest%relay-target.invalid"', "quoted-local-part"],
    ["recipient", "a@relaycheck.invalid", "relaytest@relay-target.invalid@mail.example.com", "double-at"],
    ["recipient", "a@relaycheck.invalid", "relaytest@relay-target.invalid@", "trailing-at"],
    ["recipient", "a@relaycheck.invalid", "relaytest@[198.51.100.9]", "ip-literal-recipient"],
    ["sender", "", "relaytest@relay-target.invalid", "null-sender"],
    ["sender", "relaycheck@example.com", "relaytest@relay-target.invalid", "spoofed-own-sender"],
    ["sender", "relaycheck@mail.example.com", "relaytest@relay-target.invalid", "spoofed-own-sender"],
    ["sender", "relaycheck@[192.0.2.25]", "relaytest@relay-target.invalid", "sender-ip-literal"],
    ["sender", "relaycheck", "relaytest@relay-target.invalid", "unqualified-sender"],
    ["sender", "relaycheck@relay-target.invalid", "relaytest@relay-target.invalid", "other-sender"],
  ];
  it.each(table)("%s MAIL FROM:<%s> RCPT TO:<%s> → %s", (group, from, to, kind) => {
    expect(classifyCase(make("case-7", group, from, to), own)).toBe(kind);
  });

  it("an id that names the trick wins over the syntax", () => {
    expect(classifyCase(make("percent-hack-quoted", "recipient", "a@b.invalid", '"relaytest%relay-target.invalid"@mail.example.com'), own)).toBe("percent-hack");
  });
});

describe("classifyCase: the engine's catalogue", () => {
  it("treats the engine's third-party sender case as plain relaying", () => {
    expect(classifyCase(make("third-party", "sender", "relaycheck@relaycheck.invalid", "relaytest@relay-target.invalid"), own)).toBe("plain");
  });
});
