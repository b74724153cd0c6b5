import { Fragment } from "react";
import type { ServerReport, TranscriptLine } from "@/lib/probe/types";
import { CopyButton } from "@/components/ui/CopyButton";
import type { CopyControl } from "@/components/ui/copy-button-props";
import { plural, serverKey, serverSlug } from "./format";
import { linePrefix } from "./transcript-text";
import { visible } from "./visible";

// Short names (app/globals.css): one per run of lines in the same direction.
const DIR_CLASS = {
  client: "tx-c",
  server: "tx-s",
  info: "tx-i",
} as const;

/** Consecutive lines in the same direction, together: one element per run rather than per line. */
function runsOf(lines: TranscriptLine[]): { start: number; dir: TranscriptLine["dir"]; lines: TranscriptLine[] }[] {
  const runs: { start: number; dir: TranscriptLine["dir"]; lines: TranscriptLine[] }[] = [];
  lines.forEach((l, i) => {
    const last = runs.at(-1);
    if (last?.dir === l.dir) last.lines.push(l);
    else runs.push({ start: i, dir: l.dir, lines: [l] });
  });
  return runs;
}

/**
 * The whole conversation, byte for byte as far as the caps allow, as React text (never HTML).
 * Its text content equals the downloadable file, so "copy" reads it from the page rather than
 * shipping the transcript twice.
 */
export function Transcript({ server, checkId, copy: Copy = CopyButton }: { server: ServerReport; checkId: string; copy?: CopyControl }) {
  const id = `${serverSlug(server.ip, server.port)}-transcript`;
  const key = serverKey(server.ip, server.port);
  const href = `/checks/${encodeURIComponent(checkId)}/transcript?server=${encodeURIComponent(key)}`;
  return (
    <div>
      <div className="mb-2 flex flex-wrap gap-2">
        <Copy sourceId={id} label="Copy transcript" />
        <a className="btn" href={href} download={`relaycheck-${checkId}-${key.replace(/[^0-9a-zA-Z.]/g, "_")}.txt`}>
          Download as text
        </a>
      </div>
      <details className="rounded border border-line">
        <summary className="px-3 py-2 text-sm font-semibold">
          Full transcript ({plural(server.transcript.length, "line")}{server.transcriptTruncated ? ", truncated" : ""})
          <span className="font-normal text-muted"> — <span className="text-client">C: relaycheck</span>, S: server, --: note</span>
        </summary>
        <pre id={id} tabIndex={0} aria-label={`SMTP transcript of ${server.host}`} className="max-h-[32rem] overflow-auto border-t border-line bg-sunken p-3 font-mono text-xs leading-5">
          {`# ${server.host} ${key} (C: relaycheck, S: server, --: note)\n`}
          {runsOf(server.transcript).map((run) => (
            <span key={run.start} className={DIR_CLASS[run.dir]}>
              {run.lines.map((l, i) => (
                <Fragment key={i}>
                  <span>{linePrefix(l)}</span>
                  {visible(l.line)}
                  {"\n"}
                </Fragment>
              ))}
            </span>
          ))}
          {server.transcriptTruncated ? "# transcript truncated: the server sent more than relaycheck keeps\n" : null}
        </pre>
      </details>
    </div>
  );
}
