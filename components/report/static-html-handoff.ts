/**
 * Hands HTML from a Server Component to the server-side render of StaticHtml in the same
 * request, so that it is in the page's HTML without also being in the React payload. Plain
 * globalThis (the RSC and SSR layers are separate module graphs in one process); each entry is
 * taken once, and dropped after HANDOFF_TTL_MS if the render never comes (an aborted request).
 */
const HANDOFF_TTL_MS = 30_000;

const holder = globalThis as typeof globalThis & { __relaycheckStaticHtml?: Map<string, string> };

function handoffs(): Map<string, string> {
  holder.__relaycheckStaticHtml ??= new Map();
  return holder.__relaycheckStaticHtml;
}

/** Keeps `html` for one server-side render; returns the token that takes it. */
export function putStaticHtml(html: string): string {
  const token = crypto.randomUUID();
  handoffs().set(token, html);
  setTimeout(() => handoffs().delete(token), HANDOFF_TTL_MS).unref?.();
  return token;
}

/** The HTML put under `token` (once), or "" when there is none. */
export function takeStaticHtml(token: string): string {
  const html = handoffs().get(token) ?? "";
  handoffs().delete(token);
  return html;
}
