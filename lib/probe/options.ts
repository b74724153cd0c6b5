import type { AddressPolicy, ProbeLimits, ProbeOptions, ProbeTimeouts } from "./types";

/** SMTP ports: 25 (relay/MX), 587 (submission, STARTTLS), 465 (submission, implicit TLS). */
export const SMTP_PORTS = [25, 465, 587] as const;
export const IMPLICIT_TLS_PORT = 465;

export const DEFAULT_TIMEOUTS: ProbeTimeouts = {
  connectMs: 10_000,
  greetingMs: 30_000,
  commandMs: 20_000,
  tlsHandshakeMs: 10_000,
  serverTotalMs: 90_000,
  dnsMs: 5_000,
  retryPauseMs: 3_000,
  // A minute, and a little: a per-minute limit counted in whole seconds lets the next
  // connection in only once the server's clock has passed the minute.
  rateLimitWaitMs: 62_000,
};

export const DEFAULT_LIMITS: ProbeLimits = {
  maxLineBytes: 2048,
  maxReplyLines: 100,
  maxReplyBytes: 32 * 1024,
  maxTranscriptLines: 2000,
  maxTranscriptBytes: 512 * 1024,
  maxMxHosts: 10,
  maxAddresses: 20,
  maxCasesPerSession: 8,
  maxParallelSessions: 2,
  maxSessionsPerServer: 12,
};

/**
 * `.invalid` is reserved (RFC 2606): no target can own these domains, so a relay test can never
 * reach a real mailbox. Operators set domains of their own for servers that verify domains.
 */
export const DEFAULT_SENDER_DOMAIN = "relaycheck.invalid";
export const DEFAULT_RECIPIENT_DOMAIN = "relay-target.invalid";
export const DEFAULT_EHLO_NAME = "relaycheck.invalid";

export type ProbeOptionsInput = Partial<Omit<ProbeOptions, "timeouts" | "limits" | "addressPolicy">> & {
  addressPolicy: AddressPolicy;
  timeouts?: Partial<ProbeTimeouts>;
  limits?: Partial<ProbeLimits>;
};

export function resolveOptions(input: ProbeOptionsInput): ProbeOptions {
  return {
    ports: input.ports?.length ? [...new Set(input.ports)] : [25],
    ehloName: input.ehloName ?? DEFAULT_EHLO_NAME,
    senderDomain: input.senderDomain ?? DEFAULT_SENDER_DOMAIN,
    recipientDomain: input.recipientDomain ?? DEFAULT_RECIPIENT_DOMAIN,
    senderLocalPart: input.senderLocalPart ?? "relaycheck",
    recipientLocalPart: input.recipientLocalPart ?? "relaytest",
    starttls: input.starttls ?? "auto",
    dnsServers: input.dnsServers ?? [],
    blocklists: input.blocklists,
    addressPolicy: input.addressPolicy,
    timeouts: { ...DEFAULT_TIMEOUTS, ...input.timeouts },
    limits: { ...DEFAULT_LIMITS, ...input.limits },
    signal: input.signal,
    randomToken: input.randomToken,
    acquireServerSlot: input.acquireServerSlot,
  };
}
