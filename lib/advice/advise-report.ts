/**
 * The advice as machine output, beside the report it is about: `--json` (CLI) and the JSON API
 * add to each server `advice` (the detected software and one item per problem, each with its
 * fix as ordered steps and the ids of the cases it is about) and `summary` (the verdict in
 * words), and to the whole report `summary`. Fields are only ever added: the report's own fields
 * keep their names and meaning (REPORT_SCHEMA_VERSION stays).
 */
import type { ServerReport, Verdict } from "@/lib/probe/types";
import { adviseServer } from "./advise-server";
import { DISPLAY_NAMES } from "./detect-software";
import { summarizeCheck, summarizeServer } from "./summarize-server";
import type { AdviceItem, DetectedSoftware } from "./types";

export interface MachineAdvice {
  /** What the server appears to run, with a display name for people; null when not recognised. */
  software: (DetectedSoftware & { displayName: string }) | null;
  /** Most severe first; `fix.steps` in order, setting names and commands exact. */
  items: AdviceItem[];
}

export type AdvisedServerReport = ServerReport & { advice: MachineAdvice; summary: string };

export function machineAdvice(server: ServerReport): MachineAdvice {
  const { software, items } = adviseServer(server);
  return { software: software ? { ...software, displayName: DISPLAY_NAMES[software.name] } : null, items };
}

/**
 * A report (the engine's CheckReport or the API's CheckView) with the advice added: per server
 * `advice` and `summary`; for the whole `summary`, null while there is no verdict yet.
 */
export function withAdvice<R extends { servers: ServerReport[]; verdict: Verdict | null; reason: string | null }>(
  report: R,
): Omit<R, "servers"> & { servers: AdvisedServerReport[]; summary: string | null } {
  return {
    ...report,
    summary: report.verdict ? summarizeCheck(report.servers, report.reason) : null,
    servers: report.servers.map((s) => ({ ...s, advice: machineAdvice(s), summary: summarizeServer(s) })),
  };
}
