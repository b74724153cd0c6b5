/**
 * GET /api/v1/checks/<id>/events → text/event-stream (the protocol: app/api/_lib/sse-session.ts).
 *
 * Behind relaycheck's own web server (scripts/serve-web.mjs) these requests never reach this
 * route: the server writes the same stream to node's response itself
 * (app/api/_lib/serve-events-node.ts), which holds far less memory per open stream. This route
 * serves them under `next start`/`next dev` and whenever that handler is not installed.
 */
import { logger } from "@/lib/logger";
import { errorResponse } from "@/app/api/_lib/respond";
import { openSseSession, SSE_HEADERS, SSE_ROUTE, STOPPED_READER_GRACE_MS } from "@/app/api/_lib/sse-session";

export async function GET(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  let id = "";
  try {
    id = (await ctx.params).id;
  } catch (e) {
    return errorResponse(e, SSE_ROUTE);
  }
  const opened = await openSseSession(request, id);
  if ("response" in opened) return opened.response;
  const session = opened.session;
  if (request.signal.aborted) {
    session.close();
    return new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } });
  }

  // A child logger only when there is something to say: thousands of streams stay open at once.
  const log = () => logger.child({ checkId: id });
  let over = false;
  let cutOff: NodeJS.Timeout | undefined;
  // Every way out (end, error, client gone) comes through here: the viewer's place is freed once.
  const finish = () => {
    if (over) return;
    over = true;
    clearTimeout(cutOff);
    request.signal.removeEventListener("abort", finish);
    session.close();
  };
  request.signal.addEventListener("abort", finish, { once: true });

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(session.head);
      void session.ended.then(() => {
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
        const { chunk, end } = await session.next();
        if (over) return;
        if (chunk) controller.enqueue(chunk);
        if (end) {
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

  return new Response(body, { headers: SSE_HEADERS });
}
