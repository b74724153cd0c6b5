/**
 * A badge as an HTTP answer: `image/svg+xml` with cache headers and an ETag (304 when it has not
 * changed). Badges are embedded in other sites' pages and READMEs (GitHub fetches them through its
 * image proxy), so they are readable cross-origin: next.config.ts gives their paths
 * `Cross-Origin-Resource-Policy: cross-origin` instead of the same-origin of every other answer.
 */
import { createHash } from "node:crypto";
import { renderBadge, type BadgeInput } from "./render-badge";

/** A monitor's badge changes with each check: caches may keep it this long. */
export const CHANGING_MAX_AGE_SECONDS = 300;
/** A finished check's badge never changes. */
export const FINAL_MAX_AGE_SECONDS = 31_536_000;

export function badgeResponse(request: Request, input: BadgeInput, options: { final: boolean; headers?: Record<string, string> }): Response {
  const svg = renderBadge(input);
  const etag = `"${createHash("sha256").update(svg).digest("base64url").slice(0, 27)}"`;
  const headers: Record<string, string> = {
    ...options.headers,
    "Content-Type": "image/svg+xml; charset=utf-8",
    "Cache-Control": options.final ? `public, max-age=${FINAL_MAX_AGE_SECONDS}, immutable` : `public, max-age=${CHANGING_MAX_AGE_SECONDS}, stale-while-revalidate=60`,
    ETag: etag,
  };
  if (request.headers.get("if-none-match")?.split(/\s*,\s*/).includes(etag)) return new Response(null, { status: 304, headers });
  return new Response(svg, { status: 200, headers });
}
