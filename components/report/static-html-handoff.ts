/**
 * Hands HTML from a Server Component to the server-side render of StaticHtml, so that it is in
 * the page's HTML without also being in the React payload. Plain globalThis (the RSC and SSR
 * layers are separate module graphs in one process), by name: the HTML of one name is the same
 * for every request (a finished report's cached rendering, the same string, not a copy), and a
 * render may read it more than once (React renders a component again after a suspension). Kept
 * HANDOFF_TTL_MS after the last request that put it.
 */
const HANDOFF_TTL_MS = 30_000;

interface Handoff {
  html: string;
  expiresAt: number;
}

const holder = globalThis as typeof globalThis & { __relaycheckStaticHtml?: { entries: Map<string, Handoff>; sweptAt: number } };

function store() {
  holder.__relaycheckStaticHtml ??= { entries: new Map(), sweptAt: 0 };
  return holder.__relaycheckStaticHtml;
}

/** Keeps `html` under `name` for the server-side renders of the next HANDOFF_TTL_MS. */
export function putStaticHtml(name: string, html: string): void {
  const s = store();
  const now = Date.now();
  s.entries.set(name, { html, expiresAt: now + HANDOFF_TTL_MS });
  if (now - s.sweptAt < 1000) return;
  s.sweptAt = now;
  for (const [key, entry] of s.entries) if (entry.expiresAt <= now) s.entries.delete(key);
}

/** The HTML put under `name`, or "" when there is none. */
export function takeStaticHtml(name: string): string {
  return store().entries.get(name)?.html ?? "";
}
