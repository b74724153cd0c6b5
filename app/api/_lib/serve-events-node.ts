/**
 * The live event stream (./sse-session.ts) written straight to node's response, for the web
 * server (scripts/serve-web.mjs), which hands it GET /api/v1/checks/<id>/events before Next.js
 * sees the request. Same protocol, status codes and limits as the Next route; what it saves is
 * Next's per-request machinery (web streams, request adapters), which held about 100 KB per open
 * stream: with thousands of viewers that is the web process's memory.
 *
 * Installed on globalThis by instrumentation.ts (this module is bundled by Next, with the same
 * services and live fan-out as the routes: both are kept on globalThis).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { logger } from "@/lib/logger";
import { openSseSession, SSE_HEADERS, SSE_ROUTE, STOPPED_READER_GRACE_MS } from "./sse-session";
import { errorResponse } from "./respond";
import { requestOf, SECURITY_HEADERS, writeResponse } from "./node-response";

export type NodeEventsHandler = (req: IncomingMessage, res: ServerResponse, checkId: string) => Promise<void>;

/** The path this handler serves; the id part is the check id (validated by the session). */
export const EVENTS_PATH = /^\/api\/v1\/checks\/([^/?#]+)\/events(?:[?#]|$)/;

export const serveCheckEventsNode: NodeEventsHandler = async (req, res, checkId) => {
  const aborted = new AbortController();
  const onClose = () => aborted.abort();
  res.on("close", onClose);
  let opened;
  try {
    opened = await openSseSession(requestOf(req, aborted.signal), checkId);
  } catch (e) {
    opened = { response: errorResponse(e, SSE_ROUTE) };
  }
  if ("response" in opened) {
    res.off("close", onClose);
    await writeResponse(res, opened.response);
    return;
  }
  const session = opened.session;
  if (aborted.signal.aborted) {
    session.close();
    return;
  }
  let over = false;
  let cutOff: NodeJS.Timeout | undefined;
  const finish = () => {
    if (over) return;
    over = true;
    clearTimeout(cutOff);
    res.off("close", finish);
    session.close();
  };
  res.off("close", onClose);
  res.on("close", finish);
  /** A viewer that stopped reading is cut off a while after its stream ended. */
  const cutOffLater = () => {
    cutOff = setTimeout(() => {
      if (res.destroyed) return;
      logger.child({ checkId }).info("event stream cut off: the viewer stopped reading");
      finish();
      res.destroy();
    }, STOPPED_READER_GRACE_MS).unref();
  };
  void session.ended.then(() => {
    if (!over) cutOffLater();
  });

  res.writeHead(200, { ...SECURITY_HEADERS, ...SSE_HEADERS });
  res.write(session.head);
  try {
    for (;;) {
      const { chunk, end } = await session.next();
      if (over) return;
      const flushed = chunk ? res.write(chunk) : true;
      if (end) {
        finish();
        res.end();
        if (!flushed) cutOffLater();
        return;
      }
      // Backpressure: the next events are taken only once this viewer has read these (the
      // fan-out ends the stream of a viewer that falls too far behind).
      if (!flushed && !(await drained(res))) return;
    }
  } catch (e) {
    if (over) return;
    logger.child({ checkId }).warn({ err: e }, "event stream ended by an error");
    finish();
    res.destroy();
  }
};

/** Resolves true once the response can take more, false when the viewer went away. */
function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}
