/**
 * What the node-level handlers (scripts/serve-web.mjs hands them requests before Next.js sees
 * them) need to run our fetch-style handlers on node's request and response: the request as a
 * fetch Request (or just its headers), and a Response written back with the headers
 * next.config.ts gives every API response (Next does not add them here).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { API_HEADERS, COMMON_HEADERS } from "@/lib/security/response-headers";
import type { HeaderReader } from "@/lib/security/client-ip";
import { acceptsGzip } from "./report-headers";

const gzipAsync = promisify(gzip);
/** What Next's own compression compresses (whatever the size): JSON and text. */
const COMPRESSIBLE = /^(application\/json|text\/)/;

/** The headers next.config.ts gives every API response. */
export const SECURITY_HEADERS: Record<string, string> = Object.fromEntries([...COMMON_HEADERS, ...API_HEADERS].map((h) => [h.key, h.value]));

/**
 * A fetch Request carrying what the handlers read: the URL and the headers — from `req.headers`,
 * which the web server has rewritten (its peer-address headers replace any the client sent),
 * never from `req.rawHeaders`.
 */
export function requestOf(req: IncomingMessage, signal?: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    // Hop-by-hop headers have no place in a Request's headers.
    if (value === undefined || /^(connection|keep-alive|transfer-encoding|upgrade)$/i.test(name)) continue;
    try {
      headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    } catch {
      // A header value fetch refuses (bytes outside Latin-1) is not one we read.
    }
  }
  return new Request(`http://localhost${req.url ?? "/"}`, { headers, signal });
}

/**
 * Node's request headers read like a fetch Headers, without making one: `req.headers`, which the
 * web server has rewritten (as for requestOf).
 */
export function headerReaderOf(req: IncomingMessage): HeaderReader {
  return {
    get(name: string): string | null {
      const value = req.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

/**
 * Writes a whole (not streamed) Response, with SECURITY_HEADERS, to node's response; gzip-compressed
 * as Next would when `req` accepts that and the handler has not compressed it already.
 */
export async function writeResponse(res: ServerResponse, response: Response, req?: IncomingMessage): Promise<void> {
  let body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
  const headers: Record<string, string> = { ...SECURITY_HEADERS };
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const compress =
    body !== undefined &&
    body.length > 0 &&
    !headers["content-encoding"] &&
    COMPRESSIBLE.test(headers["content-type"] ?? "") &&
    req !== undefined &&
    acceptsGzip(headerReaderOf(req).get("accept-encoding"));
  if (compress) {
    body = await gzipAsync(body!);
    headers["content-encoding"] = "gzip";
    headers.vary = headers.vary ? `${headers.vary}, Accept-Encoding` : "Accept-Encoding";
  }
  if (body) headers["content-length"] = String(body.length);
  if (!res.headersSent && !res.destroyed) res.writeHead(response.status, headers);
  res.end(body);
}
