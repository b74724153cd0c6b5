/**
 * A webhook receiver for tests: a plain node:http server on a loopback address that records every
 * POST (headers and raw body) and answers with the status `respond` chooses (default 204).
 */
import http from "node:http";

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
  json: unknown;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: { host: string; respond?: (hook: ReceivedWebhook, received: ReceivedWebhook[]) => number }): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        // Kept as text: the test says what it expected.
      }
      const hook = { headers: req.headers, body, json };
      received.push(hook);
      res.writeHead(options.respond?.(hook, received) ?? 204).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, options.host, () => resolve());
  });
  const address = server.address() as { port: number };
  return {
    url: `http://${options.host}:${address.port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
