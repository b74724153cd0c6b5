/**
 * GET /api/v1/checks/<id>/events → text/event-stream.
 * Each event: `id: <n>` (its number in the check), `event: <type>`, `data: <JSON>`. Resumes after
 * the Last-Event-ID header (or `?lastEventId=`), so a viewer who reconnects gets every event
 * exactly once. Keep-alive comments while nothing happens; closes after `done` or `failed`;
 * stops reading Redis as soon as the client goes.
 */
import { getCheck, streamCheckEvents, type StreamItem } from "@/lib/checks";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";
import { answer } from "@/app/api/_lib/respond";
import { limitRequest } from "@/app/api/_lib/client";
import { trackSseViewer } from "@/lib/metrics/metrics";

const RETRY_MS = 2000;

export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  let id = "";
  let afterSeq = 0;
  const refused = await answer("GET /api/v1/checks/[id]/events", async () => {
    id = (await ctx.params).id;
    afterSeq = lastEventIdOf(request);
    await limitRequest(request, "reads");
    if (!(await getCheck(id))) throw new AppError("not_found", "There is no check with this id.");
    return new Response(null, { status: 204 });
  });
  if (refused.status !== 204) return refused;

  const abort = new AbortController();
  const onClientGone = () => abort.abort();
  request.signal.addEventListener("abort", onClientGone, { once: true });
  const events = streamCheckEvents(id, { afterSeq, signal: abort.signal });
  const encoder = new TextEncoder();
  const log = logger.child({ checkId: id });
  const viewerGone = trackSseViewer();

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n: stream of check ${id}\n\n`));
    },
    async pull(controller) {
      try {
        const next = await events.next();
        if (next.done) {
          viewerGone();
          request.signal.removeEventListener("abort", onClientGone);
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(format(next.value)));
      } catch (e) {
        viewerGone();
        log.warn({ err: e }, "event stream ended by an error");
        controller.error(e);
      }
    },
    async cancel() {
      viewerGone();
      abort.abort();
      await events.return(undefined).catch(() => {});
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

function format(item: StreamItem): string {
  if ("keepAlive" in item) return ": keep-alive\n\n";
  // JSON.stringify never emits a raw newline, so `data:` is one line.
  return `id: ${item.seq}\nevent: ${item.event.type}\ndata: ${JSON.stringify(item.event)}\n\n`;
}

function lastEventIdOf(request: Request): number {
  const raw = request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("lastEventId");
  if (raw === null || raw === "") return 0;
  if (!/^\d{1,9}$/.test(raw)) throw new AppError("bad_request", "Last-Event-ID must be an event number.");
  return Number(raw);
}

