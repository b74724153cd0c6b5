/**
 * A check event serialized once, for both of its destinations: the JSON text that goes to the
 * live stream (and, for most events, into check_events.data), and the pieces of that same text
 * that the report rows store (a server's report, transcript and cases; a report's options and
 * resolution). The pieces are serialized first and the event's text is put together from them,
 * so no report is serialized twice, and none is serialized again by the statement that stores it.
 *
 * The text is what JSON.stringify gives, except that the pieces come last in their object (a
 * server report ends with `transcript` and `cases`): the same value for any JSON reader.
 */
import type { CheckReport, ServerReport } from "@/lib/probe/types";
import type { CheckStreamEvent } from "./types";

/** A ServerReport's JSON, and its parts as the check_servers row stores them. */
export interface ServerReportText {
  text: string;
  /** The report without `transcript` and `cases`. */
  rest: string;
  transcript: string;
  cases: string;
}

export interface SerializedEvent {
  /** The whole event's JSON. */
  text: string;
  /** The servers' reports it carries: the one of a `server-done`/`delivery`, all of a `done`/`waiting` report. */
  servers: ServerReportText[];
  /** JSON of the values the check row stores: `options`, `resolution`, `wait`. */
  columns: { options?: string; resolution?: string; wait?: string };
}

export function serializeEvent(event: CheckStreamEvent): SerializedEvent {
  switch (event.type) {
    case "server-done":
    case "delivery": {
      const server = serializeServerReport(event.report);
      return { text: withParts(event, [["report", server.text]]), servers: [server], columns: {} };
    }
    case "done": {
      const { text, servers, columns } = serializeCheckReport(event.report);
      return { text: withParts(event, [["report", text]]), servers, columns };
    }
    case "waiting": {
      const { text, servers, columns } = serializeCheckReport(event.report);
      const wait = JSON.stringify(event.wait);
      return { text: withParts(event, [["wait", wait], ["report", text]]), servers, columns: { ...columns, wait } };
    }
    case "resolved": {
      const resolution = JSON.stringify(event.resolution);
      return { text: withParts(event, [["resolution", resolution]]), servers: [], columns: { resolution } };
    }
    default:
      return { text: JSON.stringify(event), servers: [], columns: {} };
  }
}

function serializeServerReport(report: ServerReport): ServerReportText {
  const transcript = JSON.stringify(report.transcript);
  const cases = JSON.stringify(report.cases);
  const rest = JSON.stringify({ ...report, transcript: undefined, cases: undefined });
  return { text: appendParts(rest, [["transcript", transcript], ["cases", cases]]), rest, transcript, cases };
}

function serializeCheckReport(report: CheckReport): { text: string; servers: ServerReportText[]; columns: SerializedEvent["columns"] } {
  const servers = report.servers.map(serializeServerReport);
  const options = JSON.stringify(report.options);
  const resolution = JSON.stringify(report.resolution);
  const text = withParts(report, [["options", options], ["resolution", resolution], ["servers", `[${servers.map((s) => s.text).join(",")}]`]]);
  return { text, servers, columns: { options, resolution } };
}

/** JSON.stringify(value), with the values of `parts` given as JSON text (they come last). */
function withParts(value: object, parts: [key: string, json: string][]): string {
  const head = JSON.stringify({ ...value, ...Object.fromEntries(parts.map(([key]) => [key, undefined])) });
  return appendParts(head, parts);
}

/** Adds members (JSON text) at the end of an object's JSON. */
function appendParts(objectJson: string, parts: [key: string, json: string][]): string {
  const members = parts.map(([key, json]) => `${JSON.stringify(key)}:${json}`).join(",");
  return objectJson === "{}" ? `{${members}}` : `${objectJson.slice(0, -1)},${members}}`;
}
