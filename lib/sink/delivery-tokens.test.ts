import { describe, expect, it } from "vitest";
import { tokenOfRecipient } from "./delivery-tokens";
import { receivedOf } from "./run-sink";
import { proofRecipient } from "./proof-plan";

const T = "0123456789abcdef0123456789abcdef";

describe("tokenOfRecipient: the token in the forms a relay hands on, at the sink domain only", () => {
  it.each([
    [`${T}@sink.test`, T],
    [`${T.toUpperCase()}@SINK.test`, T],
    [`"${T}@sink.test"`, T],
    [`${T}%sink.test@mx.relay.test`, T],
    [`sink.test!${T}`, T],
    [`sink.test!${T}@mx.relay.test`, T],
    [`${T}@other.test`, null],
    [`${T}@sink.test.evil.test`, null],
    [`${T}x@sink.test`, null],
    [`abc@sink.test`, null],
    [`${T}%other.test@sink.test`, null],
  ])("%s → %s", (address, token) => {
    expect(tokenOfRecipient(address, "sink.test")).toBe(token);
  });
});

describe("proofRecipient: the accepted form with the outside address replaced by the token's", () => {
  const o = { localPart: "relaytest", outsideDomain: "relay-target.invalid", token: T, sinkDomain: "sink.test" };
  it.each([
    ["relaytest@relay-target.invalid", `${T}@sink.test`],
    ["relaytest%relay-target.invalid@mx.example.test", `${T}%sink.test@mx.example.test`],
    ['"relaytest@relay-target.invalid"@[192.0.2.1]', `"${T}@sink.test"@[192.0.2.1]`],
    ["relay-target.invalid!relaytest@mx.example.test", `sink.test!${T}@mx.example.test`],
    ["@mx.example.test:relaytest@relay-target.invalid", `@mx.example.test:${T}@sink.test`],
    ["postmaster@example.test", null],
  ])("%s → %s", (rcpt, expected) => {
    expect(proofRecipient(rcpt, o)).toBe(expected);
  });
});

describe("receivedOf", () => {
  it("unfolds the Received fields, in order, and nothing else", () => {
    const header = "Received: from a.test (a.test [192.0.2.1])\r\n\tby b.test (Postfix) with ESMTP id X\r\n\tfor <t@sink.test>; Wed, 2 Dec 2026 10:00:00 +0000\r\nSubject: hi\r\nReceived: from c by a; now";
    expect(receivedOf(header)).toEqual(["from a.test (a.test [192.0.2.1]) by b.test (Postfix) with ESMTP id X for <t@sink.test>; Wed, 2 Dec 2026 10:00:00 +0000", "from c by a; now"]);
  });
});
