/**
 * HTTP caching of finished reports (the JSON, the transcript, the page).
 *
 * A finished report never changes, but it is unlisted: public to whoever has the link, listed
 * and indexed nowhere, and it can still go (deleted, or its transcript removed by retention).
 * - `private`: browsers may keep it, shared caches (proxies, CDNs) may not: they would keep a
 *   report out of reach of deletion and retention, and hand one client's RateLimit-* headers to
 *   the next. An operator who wants a CDN in front can allow it there.
 * - `max-age=300, immutable`: no request at all for 5 minutes, not even on reload; after that a
 *   conditional request (If-None-Match) costs a 304. 5 minutes bounds how long a browser that
 *   already had a report may still show it after it is gone.
 * - `X-Robots-Tag: noindex, nofollow`: what the page's robots meta tag says, for the JSON and
 *   the text too.
 */
export const FINISHED_REPORT_HEADERS: Record<string, string> = {
  "Cache-Control": "private, max-age=300, immutable",
  "X-Robots-Tag": "noindex, nofollow",
};

/** Whether an If-None-Match header names this ETag (or is `*`); weak forms compare equal. */
export function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}

/**
 * Whether an Accept-Encoding header takes gzip (named, or `*`, with a q-value above 0). The body
 * of a finished report is compressed once (lib/checks/report-cache.ts), not per request.
 */
export function acceptsGzip(acceptEncoding: string | null): boolean {
  if (!acceptEncoding) return false;
  return acceptEncoding.split(",").some((part) => {
    const [coding = "", ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip" && coding.trim() !== "*") return false;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return q === undefined || Number(q) > 0;
  });
}
