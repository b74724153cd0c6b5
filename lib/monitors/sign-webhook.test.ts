import { describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { newWebhookSecret, signWebhook, verifyWebhookSignature } from "./sign-webhook";

const SECRET = "whsec_test";
const BODY = '{"type":"monitor.test"}';
const T = 1_800_000_000;

describe("webhook signatures", () => {
  it("is HMAC-SHA256 of `<t>.<body>`, hex, with the time", () => {
    const expected = createHmac("sha256", SECRET).update(`${T}.${BODY}`).digest("hex");
    expect(signWebhook(SECRET, BODY, T)).toBe(`t=${T},v1=${expected}`);
  });

  it.each([
    ["the signature made", signWebhook(SECRET, BODY, T), BODY, T, true],
    ["four minutes later", signWebhook(SECRET, BODY, T), BODY, T + 240, true],
    ["six minutes later (a replay)", signWebhook(SECRET, BODY, T), BODY, T + 360, false],
    ["another body", signWebhook(SECRET, BODY, T), `${BODY} `, T, false],
    ["another secret", signWebhook("whsec_other", BODY, T), BODY, T, false],
    ["no header", null, BODY, T, false],
    ["garbage", "t=x,v1=zz", BODY, T, false],
    ["a short v1", `t=${T},v1=abcd`, BODY, T, false],
  ])("%s → %s", (_, header, body, now, ok) => {
    expect(verifyWebhookSignature(SECRET, header, body, now)).toBe(ok);
  });

  it("makes secrets of 32 random bytes", () => {
    expect(newWebhookSecret()).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(newWebhookSecret());
  });
});
