import type { ServerReport } from "@/lib/probe/types";
import { CopyButton } from "@/components/ui/CopyButton";
import type { CopyControl } from "@/components/ui/copy-button-props";
import { plural, serverKey, serverSlug } from "./format";
import { linePrefix } from "./transcript-text";
import { visible } from "./visible";

// Short names (app/globals.css): one per transcript line.
const DIR_CLASS = {
  client: "tx-c",
  server: "tx-s",
  info: "tx-i",
} as const;

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
          {server.transcript.map((l, i) => (
            <span key={i} className={DIR_CLASS[l.dir]}>
              <span>{linePrefix(l)}</span>
              {visible(l.line)}
              {"\n"}
            </span>
          ))}
          {server.transcriptTruncated ? "# transcript truncated: the server sent more than relaycheck keeps\n" : null}
        </pre>
      </details>
    </div>
  );
}
