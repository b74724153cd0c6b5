/**
 * GET /api/v1/checks/<id>/events → text/event-stream.
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
import { logger } from "@/lib/logger";
import { errorResponse } from "@/app/api/_lib/respond";
import { limitRequest } from "@/app/api/_lib/client";
import { trackSseViewer } from "@/lib/metrics/metrics";

const ROUTE = "GET /api/v1/checks/[id]/events";
const RETRY_MS = 2000;
/**
 * After its end (lifetime, too slow, terminal event), a stream whose viewer has not read it out
 * within this time is cut off: a client that stopped reading holds nothing for long.
 */
const STOPPED_READER_GRACE_MS = 30_000;

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");

export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  let id = "";
  let stream: CheckEventStream | null;
  try {
    id = (await ctx.params).id;
    const afterSeq = lastEventIdOf(request);
    const { key } = await limitRequest(request, "reads");
    stream = isCheckId(id) ? await openCheckEvents(id, { afterSeq, client: key }) : null;
    if (!stream) throw new AppError("not_found", "There is no check with this id.");
  } catch (e) {
    return errorResponse(e, ROUTE);
  }
  if (stream.complete || request.signal.aborted) {
    stream.close();
    return new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } });
  }

  const events = stream;
  // A child logger only when there is something to say: thousands of streams stay open at once.
  const log = () => logger.child({ checkId: id });
  let over = false;
  let cutOff: NodeJS.Timeout | undefined;
  // Every way out (end, error, client gone) comes through here: the viewer's place is freed once.
  const viewerGone = trackSseViewer();
  const finish = () => {
    if (over) return;
    over = true;
    viewerGone();
    clearTimeout(cutOff);
    request.signal.removeEventListener("abort", finish);
    events.close();
  };
  request.signal.addEventListener("abort", finish, { once: true });

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n: stream of check ${id}\n\n`));
      void events.ended.then(() => {
        if (over) return;
        cutOff = setTimeout(() => {
          if (over) return;
          log().info("event stream cut off: the viewer stopped reading");
          finish();
          controller.error(new Error("the viewer stopped reading"));
        }, STOPPED_READER_GRACE_MS).unref();
      });
    },
    async pull(controller) {
      try {
        const batch = await events.next();
        if (over) return;
        const frames = batch.entries.map(frameOf);
        if (batch.end && batch.end !== "terminal") frames.push(encoder.encode(`: end (${batch.end}): reconnect with Last-Event-ID\n\n`));
        // One write per batch: per-chunk costs (web streams, Node's writes) dominate with many viewers.
        if (frames.length > 0) controller.enqueue(frames.length === 1 ? frames[0]! : concat(frames));
        else if (!batch.end) controller.enqueue(KEEP_ALIVE);
        if (batch.end) {
          finish();
          controller.close();
        }
      } catch (e) {
        if (over) return;
        log().warn({ err: e }, "event stream ended by an error");
        finish();
        controller.error(e);
      }
    },
    cancel() {
      finish();
    },
  });

  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
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
