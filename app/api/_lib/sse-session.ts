/**
 * One viewer's live event stream of a check, apart from how it is written to the socket: the
 * Next route (app/api/v1/checks/[id]/events/route.ts) wraps it in a web ReadableStream, and the
 * web server (scripts/serve-web.mjs) writes it to node's response directly
 * (./serve-events-node.ts), which costs a fraction of the memory per open stream.
 *
 * Each event: `id: <n>` (its number in the check), `event: <type>`, `data: <JSON>`. Resumes after
 * the Last-Event-ID header (or `?lastEventId=`), so a viewer who reconnects gets every event
 * exactly once. Keep-alive comments while nothing happens. Ends after `done` or `failed`; also
 * at the stream's maximum lifetime or when the viewer falls too far behind, with a comment that
 * says so (an EventSource reconnects by itself and resumes). 204 when the check has ended and
 * the viewer has every event (an EventSource then stops); 429 past the per-client cap of open
 * streams, 503 past the process's.
 */
import { isCheckId, openCheckEvents, type CheckEventStream, type LiveEntry } from "@/lib/checks";
import { AppError } from "@/lib/errors";
import { errorResponse } from "@/app/api/_lib/respond";
import { limitRequest } from "@/app/api/_lib/client";
import { trackSseViewer } from "@/lib/metrics/metrics";

export const SSE_ROUTE = "GET /api/v1/checks/[id]/events";
const RETRY_MS = 2000;
/**
 * After its end (lifetime, too slow, terminal event), a stream whose viewer has not read it out
 * within this time is cut off: a client that stopped reading holds nothing for long.
 */
export const STOPPED_READER_GRACE_MS = 30_000;

export const SSE_HEADERS: Record<string, string> = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
};

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");

export interface SseSession {
  /** The first bytes of the stream (reconnection delay, a comment). */
  readonly head: Uint8Array;
  /** The next bytes to send (events, or a keep-alive); `end`: nothing follows. */
  next(): Promise<{ chunk: Uint8Array | null; end: boolean }>;
  /** Resolves when the stream has ended (terminal event, lifetime, too slow…), read out or not. */
  readonly ended: Promise<unknown>;
  /** Idempotent: frees the viewer's place in the caps and the metrics. */
  close(): void;
}

/** A session to stream, or a whole answer (204, 404, 429, 503…) to send instead. */
export type SseOpening = { session: SseSession } | { response: Response };

export async function openSseSession(request: Request, id: string): Promise<SseOpening> {
  let stream: CheckEventStream | null;
  try {
    const afterSeq = lastEventIdOf(request);
    const { key } = await limitRequest(request, "reads");
    stream = isCheckId(id) ? await openCheckEvents(id, { afterSeq, client: key }) : null;
    if (!stream) throw new AppError("not_found", "There is no check with this id.");
  } catch (e) {
    return { response: errorResponse(e, SSE_ROUTE) };
  }
  if (stream.complete || request.signal.aborted) {
    stream.close();
    return { response: new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } }) };
  }
  const events = stream;
  const viewerGone = trackSseViewer();
  let closed = false;
  return {
    session: {
      head: encoder.encode(`retry: ${RETRY_MS}\n: stream of check ${id}\n\n`),
      ended: events.ended,
      async next() {
        const batch = await events.next();
        const frames = batch.entries.map(frameOf);
        if (batch.end && batch.end !== "terminal") frames.push(encoder.encode(`: end (${batch.end}): reconnect with Last-Event-ID\n\n`));
        // One write per batch: per-chunk costs dominate with many viewers.
        const chunk = frames.length > 1 ? concat(frames) : (frames[0] ?? (batch.end ? null : KEEP_ALIVE));
        return { chunk, end: Boolean(batch.end) };
      },
      close() {
        if (closed) return;
        closed = true;
        viewerGone();
        events.close();
      },
    },
  };
}

/** Each entry is framed and encoded once, however many viewers it goes to. */
const encodedFrames = new WeakMap<LiveEntry, Uint8Array>();

function frameOf(entry: LiveEntry): Uint8Array {
  let frame = encodedFrames.get(entry);
  if (!frame) {
    // Our writers' JSON.stringify never emits a raw line break; anything else is re-serialized
    // rather than allowed to split the frame. Unknown event types pass through as they are.
    const data = /[\r\n]/.test(entry.data) ? JSON.stringify(JSON.parse(entry.data)) : entry.data;
    const type = entry.type.replace(/[^A-Za-z0-9_.-]/g, "") || "message";
    frame = encoder.encode(`id: ${entry.seq}\nevent: ${type}\ndata: ${data}\n\n`);
    encodedFrames.set(entry, frame);
  }
  return frame;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function lastEventIdOf(request: Request): number {
  const raw = request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("lastEventId");
  if (raw === null || raw === "") return 0;
  if (!/^\d{1,9}$/.test(raw)) throw new AppError("bad_request", "Last-Event-ID must be an event number.");
  return Number(raw);
}
