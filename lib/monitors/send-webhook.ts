/**
 * One try of a webhook: POST the JSON body, signed, to the monitor's URL; a 2xx is success.
 *
 * A webhook URL is chosen by a stranger, so it goes through the target policy like a probe's
 * target: only public addresses (or the operator's WEBHOOK_ALLOW_TARGETS), checked on the very
 * address the connection goes to (the name is resolved once, inside the connection: no DNS
 * rebinding), redirects are not followed, and the whole try is bounded in time.
 *
 * Which failures are worth another try: none answer, a timeout, 5xx, 408 and 429. Any other 4xx,
 * a 3xx or a refused address will not get better: the delivery is given up at once.
 */
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { LookupFunction } from "node:net";
import { createAddressPolicy } from "@/lib/security/target-policy";
import type { AddressDecision } from "@/lib/probe/types";
import { SIGNATURE_HEADER, signWebhook } from "./sign-webhook";

/** The whole try: connect, send, status line and body. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** What of a receiver's answer is read (then the connection is dropped). */
const MAX_RESPONSE_BYTES = 64 * 1024;
/**
 * The target policy decides on an address and a port; a webhook may use any port, so the policy
 * is asked about the address alone, with a port it always allows.
 */
const ADDRESS_ONLY_PORT = 25;

export interface SendResult {
  ok: boolean;
  /** HTTP status (webhooks), or the SMTP reply code (email), when one came. */
  statusCode: number | null;
  error: string | null;
  /** Another try cannot help. */
  permanent: boolean;
  ms: number;
}

export interface WebhookRequest {
  url: string;
  body: string;
  secret: string;
  /** `X-Relaycheck-Event` and `X-Relaycheck-Delivery`. */
  event: string;
  deliveryId: string;
}

export interface WebhookOptions {
  /** CIDR ranges allowed although not public (WEBHOOK_ALLOW_TARGETS). */
  allow: readonly string[];
  timeoutMs?: number;
}

/** Whether a webhook may go to `ip`: public, or in the operator's allow-list. */
export function webhookAddressDecision(ip: string, allow: readonly string[]): AddressDecision {
  return createAddressPolicy({ allow })(ip, ADDRESS_ONLY_PORT);
}

class RefusedAddressError extends Error {
  override name = "RefusedAddressError";
}

export async function sendWebhook(request: WebhookRequest, options: WebhookOptions): Promise<SendResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const done = (r: Omit<SendResult, "ms">): SendResult => ({ ...r, ms: Math.round(performance.now() - started) });
  const url = new URL(request.url);
  const allowed = (ip: string) => webhookAddressDecision(ip, options.allow);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (net.isIP(host)) {
    const decision = allowed(host);
    if (!decision.allowed) return done({ ok: false, statusCode: null, error: `refused: ${decision.reason}`, permanent: true });
  }
  const client = url.protocol === "https:" ? https : http;
  try {
    const statusCode = await new Promise<number>((resolve, reject) => {
      const req = client.request(
        url,
        {
          method: "POST",
          lookup: vettedLookup(allowed),
          signal: AbortSignal.timeout(timeoutMs),
          headers: {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(request.body),
            "User-Agent": "relaycheck-webhook/1",
            "X-Relaycheck-Event": request.event,
            "X-Relaycheck-Delivery": request.deliveryId,
            [SIGNATURE_HEADER]: signWebhook(request.secret, request.body),
          },
        },
        (res) => {
          let read = 0;
          res.on("data", (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_RESPONSE_BYTES) res.destroy();
          });
          res.on("close", () => resolve(res.statusCode ?? 0));
          res.on("error", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(request.body);
    });
    if (statusCode >= 200 && statusCode < 300) return done({ ok: true, statusCode, error: null, permanent: false });
    const retry = statusCode >= 500 || statusCode === 408 || statusCode === 429;
    const why = statusCode >= 300 && statusCode < 400 ? "redirects are not followed" : `the receiver answered ${statusCode}`;
    return done({ ok: false, statusCode, error: why, permanent: !retry });
  } catch (e) {
    const refused = e instanceof RefusedAddressError || (e as { cause?: unknown }).cause instanceof RefusedAddressError;
    return done({ ok: false, statusCode: null, error: errorText(e, timeoutMs), permanent: refused });
  }
}

/** Resolves the host name and hands the connection only addresses the policy allows. */
function vettedLookup(allowed: (ip: string) => AddressDecision): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const ok = addresses.filter((a) => allowed(a.address).allowed);
      if (ok.length === 0) {
        const first = addresses[0];
        const decision = first ? allowed(first.address) : null;
        const reason = decision && !decision.allowed ? decision.reason : "the name has no address";
        return callback(new RefusedAddressError(`refused: ${reason}`), "", 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  };
}

function errorText(e: unknown, timeoutMs: number): string {
  if (!(e instanceof Error)) return String(e);
  if (e.name === "TimeoutError" || e.name === "AbortError") return `no answer within ${timeoutMs / 1000} s`;
  const code = (e as { code?: string }).code;
  return code ? `${code}: ${e.message}` : e.message;
}
