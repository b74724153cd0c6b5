/** The probe engine's public surface: everything else in lib/probe is internal. */
export * from "./types";
export { resolveOptions, DEFAULT_LIMITS, DEFAULT_TIMEOUTS, SMTP_PORTS, DEFAULT_RECIPIENT_DOMAIN, DEFAULT_SENDER_DOMAIN, DEFAULT_EHLO_NAME } from "./options";
export type { ProbeOptionsInput } from "./options";
export { normalizeTarget, TargetInputError } from "./target";
export { runCheck, probe } from "./run-check";
export { escapeText } from "./escape-text";
export { BLOCKLISTS, DEFAULT_BLOCKLIST_ZONES, BlocklistSelectionError, parseBlocklistSelection, selectBlocklists } from "./blocklists";
export type { BlocklistDefinition } from "./blocklists";
export { checkBlocklists, createBlocklistChecker, DNSBL_BUDGET_MS, DNSBL_CACHE_TTL_MS, DNSBL_QUERY_TIMEOUT_MS } from "./check-blocklists";
export { sendProofMessage, proofMessageLines, proofSessionInput, PROOF_SESSION_TOTAL_MS } from "./send-proof-message";
export type { ProofMessageInput, ProofSessionResult, ProofSessionOutcome } from "./send-proof-message";
export { recheckPlan, recheckCases, mergeServerRecheck, isRecheckable, plannedCaseCount } from "./recheck-cases";
export type { RecheckServerPlan, RecheckRound, MergeRound } from "./recheck-cases";
