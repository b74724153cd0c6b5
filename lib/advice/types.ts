/**
 * The advice module's public types: what relaycheck believes the server software is, and what
 * the administrator should do. Everything here is plain text (never HTML): the page escapes it,
 * the CLI prints it, the API serves it as JSON. Closed sets are `as const` arrays with derived
 * unions, so an id is compared as a value of its set, never matched by words.
 */
import type { FindingId, Severity } from "@/lib/probe/types";

/** The server software relaycheck can recognise: a closed set. */
export const SOFTWARE_NAMES = [
  "postfix",
  "exim",
  "sendmail",
  "exchange",
  "microsoft-365",
  "opensmtpd",
  "haraka",
  "qmail",
  "google",
  "hmailserver",
  "mailenable",
] as const;
export type SoftwareName = (typeof SOFTWARE_NAMES)[number];

export const CONFIDENCES = ["high", "medium", "low"] as const;
export type Confidence = (typeof CONFIDENCES)[number];

/** Recipient forms that smuggle an outside domain past a relay check. */
export const ROUTING_KINDS = ["percent-hack", "bang-path", "source-route", "quoted-local-part", "double-at", "trailing-at", "ip-literal-recipient"] as const;
export type RoutingKind = (typeof ROUTING_KINDS)[number];

/** Sender forms some servers trust more than a plain outside sender. */
export const SENDER_KINDS = ["null-sender", "spoofed-own-sender", "sender-ip-literal", "unqualified-sender", "other-sender"] as const;
export type SenderKind = (typeof SENDER_KINDS)[number];

/** What a relay case tries, as far as the advice is concerned. */
export type CaseKind = "plain" | RoutingKind | SenderKind;

/** The advice's own items (besides one per trick a relay fell for, and the engine's findings). */
export const ADVICE_IDS = [
  "open-relay",
  "not-open-relay",
  "inconclusive",
  "inconclusive-tempfail",
  "inconclusive-recipient-domain",
  "inconclusive-sender-rejected",
  "inconclusive-errors",
  "inconclusive-catch-all",
  "catch-all",
  "unreachable",
  "auth-before-tls",
  "no-starttls",
  "tls-failed",
  "tls-old-protocol",
  "cert-expired",
  "cert-self-signed",
  "cert-hostname-mismatch",
  "cert-untrusted",
  "ptr-missing",
  "ptr-mismatch",
  "greeting-not-fqdn",
  "relay-address-tricks",
  "relay-sender-trust",
  "dnsbl-listed",
  "dnsbl-domain-listed",
  "dnsbl-not-asked",
] as const;

/** Every id an advice item can have: its own, one per trick, or an engine finding passed on. */
export type AdviceId = (typeof ADVICE_IDS)[number] | `relay-trick-${RoutingKind}` | `relay-${SenderKind}` | FindingId;

export interface DetectedSoftware {
  name: SoftwareName;
  confidence: Confidence;
  /** One sentence per clue, in plain language, quoting what the server sent. */
  evidence: string[];
}

export interface AdviceFix {
  /** Display name of the software the steps are for, e.g. "Postfix" or "Any mail server". */
  software: string;
  /** Ordered steps; setting names and commands are exact. */
  steps: string[];
  /** The vendor's own documentation for the settings named in the steps. */
  docs?: string;
}

export interface AdviceItem {
  /** Stable kebab-case id, e.g. "open-relay", "relay-trick-percent-hack", "auth-before-tls". */
  id: AdviceId;
  severity: Severity;
  title: string;
  /** Plain language first, then the technical detail. */
  detail: string;
  fix?: AdviceFix;
  /** The ids of the cases this item is about (machine output; people read the titles). */
  caseIds?: string[];
}

export interface Advice {
  software: DetectedSoftware | null;
  /** Most severe first. */
  items: AdviceItem[];
}
