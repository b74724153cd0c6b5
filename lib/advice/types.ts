/**
 * The advice module's public types: what relaycheck believes the server software is, and what
 * the administrator should do. Everything here is plain text (never HTML): the page escapes it,
 * the CLI prints it, the API serves it as JSON.
 */

/** The server software relaycheck can recognise: a closed set. */
export type SoftwareName =
  | "postfix"
  | "exim"
  | "sendmail"
  | "exchange"
  | "microsoft-365"
  | "opensmtpd"
  | "haraka"
  | "qmail"
  | "google"
  | "hmailserver"
  | "mailenable";

export type Confidence = "high" | "medium" | "low";

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
  id: string;
  severity: "critical" | "warning" | "info";
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
