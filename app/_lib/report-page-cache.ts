/**
 * Whole report pages of finished checks, kept by each web process for a few seconds and served
 * by the web server (scripts/serve-web.mjs) before Next.js sees the request. Rendering the page
 * through Next costs milliseconds even when every part of it comes from memory (the report's
 * HTML from the report cache, the target's history from lib/checks/target-history-cache.ts):
 * Next's routing, its React render of the layout and the payload, and its streams. A finished
 * report's page is the same for every viewer but for the CSP nonce, so it is rendered by Next
 * once, kept split at its nonce, and sent again with a fresh nonce (and the matching
 * Content-Security-Policy) in each response: no two responses share a nonce.
 *
 * Only a browser's document request (GET /checks/<id>, no query, Accept with text/html, none of
 * Next's client-navigation or prefetch headers) is served or kept; everything else goes to Next.
 * A page is kept only when Next answered 200 with a finished report (its HTML names the report's
 * static part, which only a finished check's page has), never a queued, running or waiting one;
 * and Next is asked for one to keep only once the report cache holds the check as finished, so
 * a live page's request is left as it is (compressed by Next).
 *
 * Bounds:
 * - staleness: a page is served for min(HISTORY_CACHE_TTL_SECONDS, REPORT_CACHE_TTL_SECONDS)
 *   after Next rendered it; then the next request has Next render it anew, while the others get
 *   the old page for at most REFRESH_GRACE_MS (1 s) more. So a new check of the target shows on
 *   the target's other reports within twice the history cache's time to live plus that second
 *   (11 s by default: the history it rendered may have been that old already), and a deleted
 *   report is gone within the report cache's bound plus that second;
 * - memory: at most MAX_PAGES pages (least recently used out first), each up to MAX_PAGE_BYTES.
 *
 * The request Next renders for the cache is asked without Accept-Encoding (Next would compress
 * it): that one viewer gets it uncompressed. Pages served from here are gzip-compressed per
 * request (the nonce differs each time) for clients that accept it.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { getEnv } from "@/lib/env";
import { getReportCache } from "@/lib/checks/report-cache";
import { contentSecurityPolicy } from "@/lib/security/content-security-policy";
import { acceptsGzip } from "@/app/api/_lib/report-headers";
import { headerReaderOf } from "@/app/api/_lib/node-response";

const MAX_PAGES = 256;
/**
 * How long an expired page is still sent while one request has Next render it anew (Next takes
 * milliseconds; without this every request of that moment would make Next render it).
 */
const REFRESH_GRACE_MS = 1000;
const MAX_PAGE_BYTES = 512 * 1024;
const gzipAsync = promisify(gzip);

/** A report page's path; the part in brackets is the check id. No query: those go to Next. */
export const REPORT_PAGE_PATH = /^\/checks\/([A-Za-z0-9_-]{1,64})$/;

interface Page {
  headers: OutgoingHttpHeaders;
  /** The HTML split at its nonce. */
  parts: string[];
  expiresAt: number;
  /** When a request was let through to Next to render the page anew, once it had expired. */
  refreshingSince?: number;
}

export interface ReportPageCacheOptions {
  ttlMs: number;
  maxPages?: number;
  now?: () => number;
  /** Development mode: the policy allows eval there, as proxy.ts makes it. */
  dev?: boolean;
}

/** Whether Next would render this request as a browser's document request for the page. */
export function isDocumentRequest(req: IncomingMessage): boolean {
  if (req.method !== "GET") return false;
  const h = req.headers;
  if (!(h.accept ?? "").includes("text/html")) return false;
  return !(h.rsc || h["next-router-prefetch"] || h["next-router-state-tree"] || h["next-router-segment-prefetch"] || h.purpose === "prefetch");
}

export class ReportPageCache {
  private readonly pages = new Map<string, Page>();
  private readonly now: () => number;

  constructor(private readonly options: ReportPageCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.pages.size;
  }

  /** Answers from a kept page and returns true, or returns false (nothing written). */
  serve(req: IncomingMessage, res: ServerResponse, id: string): boolean {
    const page = this.pages.get(id);
    if (!page) return false;
    const now = this.now();
    if (now >= page.expiresAt + REFRESH_GRACE_MS) {
      this.pages.delete(id);
      return false;
    }
    if (now >= page.expiresAt) {
      // One request at a time renders it anew through Next; meanwhile the others get this page.
      if (page.refreshingSince === undefined || now - page.refreshingSince >= REFRESH_GRACE_MS) {
        page.refreshingSince = now;
        return false;
      }
    }
    this.pages.delete(id);
    this.pages.set(id, page);
    const nonce = randomBytes(16).toString("base64");
    const html = page.parts.join(nonce);
    const https = req.headers["x-forwarded-proto"] === "https";
    const headers: OutgoingHttpHeaders = { ...page.headers, "content-security-policy": contentSecurityPolicy(nonce, { dev: this.options.dev ?? false, https }) };
    if (acceptsGzip(headerReaderOf(req).get("accept-encoding"))) {
      const vary = String(headers.vary ?? "");
      const compressed = { ...headers, "content-encoding": "gzip", vary: /accept-encoding/i.test(vary) ? vary : vary ? `${vary}, Accept-Encoding` : "Accept-Encoding" };
      void gzipAsync(html).then(
        (body) => send(res, compressed, body),
        () => send(res, headers, Buffer.from(html)),
      );
    } else {
      send(res, headers, Buffer.from(html));
    }
    return true;
  }

  /**
   * Lets Next answer this request and keeps the page when it is a finished report: asks Next
   * for it uncompressed, and collects what Next writes (on this response only).
   */
  capture(req: IncomingMessage, res: ServerResponse, id: string): void {
    if (this.options.ttlMs <= 0) return;
    delete req.headers["accept-encoding"];
    const chunks: Buffer[] = [];
    let bytes = 0;
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    const collect = (chunk: unknown, encoding: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === "function" || bytes > MAX_PAGE_BYTES) return;
      const b = typeof chunk === "string" ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8") : Buffer.from(chunk as Uint8Array);
      bytes += b.length;
      chunks.push(b);
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      collect(chunk, rest[0]);
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      collect(chunk, rest[0]);
      const result = end(chunk, ...rest);
      if (bytes <= MAX_PAGE_BYTES) this.keep(id, res, Buffer.concat(chunks).toString("utf8"));
      return result;
    }) as typeof res.end;
  }

  private keep(id: string, res: ServerResponse, html: string): void {
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(String(res.getHeader("content-security-policy") ?? ""))?.[1];
    // Only a finished report's page carries its static part (app/checks/[id]/page.tsx). Any
    // other answer (the report deleted: 404) also ends what was kept.
    if (res.statusCode !== 200 || res.getHeader("content-encoding") || !html.includes(`report:${id}`) || !nonce) {
      this.pages.delete(id);
      return;
    }
    const headers = res.getHeaders();
    for (const name of ["content-security-policy", "content-length", "content-encoding", "transfer-encoding", "date", "connection", "keep-alive", "set-cookie"]) delete headers[name];
    this.pages.delete(id);
    this.pages.set(id, { headers, parts: html.split(nonce), expiresAt: this.now() + this.options.ttlMs });
    const now = this.now();
    for (const [key, page] of this.pages) {
      if (this.pages.size <= (this.options.maxPages ?? MAX_PAGES) && page.expiresAt > now) break;
      this.pages.delete(key);
    }
  }
}

function send(res: ServerResponse, headers: OutgoingHttpHeaders, body: Buffer): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(200, { ...headers, "content-length": body.length });
  res.end(body);
}

/**
 * For the web server, before Next: answers a document request for a report page from a kept page
 * (true), or lets Next answer it and, for a check the report cache holds as finished, keeps the
 * page if it is one to keep (false: Next's turn).
 */
export function serveReportPageNode(req: IncomingMessage, res: ServerResponse): boolean {
  const id = REPORT_PAGE_PATH.exec(req.url ?? "")?.[1];
  if (!id || !isDocumentRequest(req)) return false;
  const cache = getReportPageCache();
  if (cache.serve(req, res, id)) return true;
  // Kept only once the report cache holds the check as finished (the first view of a finished
  // report puts it there): a live page is never kept, so it keeps Next's compression.
  if (getReportCache().get(id)) cache.capture(req, res, id);
  return false;
}

// One per process, on globalThis (like the report cache).
const holder = globalThis as typeof globalThis & { __relaycheckReportPages?: ReportPageCache };

/** The process-wide cache (see the bounds above). */
export function getReportPageCache(): ReportPageCache {
  if (!holder.__relaycheckReportPages) {
    const env = getEnv();
    holder.__relaycheckReportPages = new ReportPageCache({
      ttlMs: Math.min(env.HISTORY_CACHE_TTL_SECONDS, env.REPORT_CACHE_TTL_SECONDS) * 1000,
      dev: process.env.NODE_ENV === "development",
    });
  }
  return holder.__relaycheckReportPages;
}
