/**
 * The webhook signature: `X-Relaycheck-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
 * `<t>.<raw body>` under the monitor's secret (the scheme of Stripe's webhooks). The time is
 * inside the signed text, so a receiver that also checks it is recent refuses replays; it changes
 * with every try, the delivery id (`X-Relaycheck-Delivery`) does not.
 *
 * Receivers verify with `verifyWebhookSignature` (or its three lines in their own language:
 * see the README's "Monitoring" section).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "X-Relaycheck-Signature";
export const WEBHOOK_SECRET_PREFIX = "whsec_";
/** A receiver should refuse signatures older (or newer) than this. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString("base64url");
}

function hmac(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

/** Whether `header` is a valid signature of `body` under `secret`, made within the tolerance of `now`. */
export function verifyWebhookSignature(secret: string, header: string | null | undefined, body: string, now = Math.floor(Date.now() / 1000)): boolean {
  const parts = new Map((header ?? "").split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1") ?? "";
  if (!Number.isInteger(t) || Math.abs(now - t) > SIGNATURE_TOLERANCE_SECONDS || !/^[0-9a-f]{64}$/.test(v1)) return false;
  return timingSafeEqual(Buffer.from(v1, "hex"), Buffer.from(hmac(secret, t, body), "hex"));
}
