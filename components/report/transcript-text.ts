import type { ServerReport, TranscriptLine } from "@/lib/probe/types";
import { serverKey } from "./format";
import { visible } from "./visible";

const DIR_MARK: Record<TranscriptLine["dir"], string> = { client: "C:", server: "S:", info: "--" };

/** The prefix of one transcript line: session, time since the server's probe began, direction. */
export function linePrefix(l: TranscriptLine): string {
  return `[s${l.session} ${`+${l.t}ms`.padStart(8)}] ${DIR_MARK[l.dir]} `;
}

/** One server's transcript as plain text: what "copy" and "download" give. */
export function transcriptText(server: ServerReport): string {
  const head = `# ${server.host} ${serverKey(server.ip, server.port)} (C: relaycheck, S: server, --: note)\n`;
  const body = server.transcript.map((l) => linePrefix(l) + visible(l.line)).join("\n");
  const tail = server.transcriptTruncated ? "\n# transcript truncated: the server sent more than relaycheck keeps\n" : "\n";
  return head + body + tail;
}
