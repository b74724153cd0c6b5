/**
 * A Server-Sent Events client for tests: fetch + eventsource-parser, reading until a condition
 * holds (then hanging up, as a browser that goes away would) or until the server closes.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface ReceivedEvent {
  id: number;
  type: string;
  data: { type: string } & Record<string, unknown>;
}

export interface ReadEventsOptions {
  lastEventId?: number;
  /** Use `?lastEventId=` instead of the header. */
  viaQuery?: boolean;
  /** Hang up once this returns true for the events so far. */
  until?: (events: ReceivedEvent[]) => boolean;
  /** Called with each comment line (keep-alives). */
  onComment?: (comment: string) => void;
  headers?: Record<string, string>;
}

export interface ReadEventsResult {
  events: ReceivedEvent[];
  /** True when the server ended the stream (after done/failed), false when we hung up. */
  closedByServer: boolean;
  status: number;
  contentType: string | null;
}

export async function readEvents(url: string, options: ReadEventsOptions = {}): Promise<ReadEventsResult> {
  const target = new URL(url);
  const headers: Record<string, string> = { accept: "text/event-stream", ...options.headers };
  if (options.lastEventId !== undefined) {
    if (options.viaQuery) target.searchParams.set("lastEventId", String(options.lastEventId));
    else headers["last-event-id"] = String(options.lastEventId);
  }
  const abort = new AbortController();
  const response = await fetch(target, { headers, signal: abort.signal });
  const events: ReceivedEvent[] = [];
  let done = false;
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      if (done) return;
      events.push({ id: Number(message.id), type: message.event ?? "message", data: JSON.parse(message.data) });
      if (options.until?.(events)) done = true;
    },
    onComment: options.onComment,
  });
  if (!response.body) return { events, closedByServer: true, status: response.status, contentType: response.headers.get("content-type") };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    while (!done) {
      const { value, done: ended } = await reader.read();
      if (ended) {
        return { events, closedByServer: true, status: response.status, contentType: response.headers.get("content-type") };
      }
      parser.feed(decoder.decode(value, { stream: true }));
    }
  } finally {
    if (done) abort.abort();
  }
  return { events, closedByServer: false, status: response.status, contentType: response.headers.get("content-type") };
}

export const isTerminal = (events: ReceivedEvent[]): boolean => events.some((e) => e.type === "done" || e.type === "failed");
