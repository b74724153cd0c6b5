/** Advice for a mail administrator: the server software recognised, and what to change. */
export { detectSoftware, DISPLAY_NAMES } from "./detect-software";
export { adviseServer } from "./advise-server";
export { summarizeCheck, summarizeServer, refusalReply } from "./summarize-server";
export { countCases, describeCounts, groupCases, groupResult, replyLine, type CaseCounts, type CaseGroup, type GroupResult } from "./describe-cases";
export type { Advice, AdviceFix, AdviceItem, Confidence, DetectedSoftware, SoftwareName } from "./types";
export { machineAdvice, withAdvice, type AdvisedServerReport, type MachineAdvice } from "./advise-report";
