/**
 * Headers every response carries (next.config.ts sets them on Next's responses; the web server's
 * own live-event handler, app/api/_lib/serve-events-node.ts, sets the same). The
 * Content-Security-Policy of pages is set per request by proxy.ts (it needs a fresh nonce for
 * Next's inline scripts); API responses get a policy that allows nothing, since they are never
 * meant to render. Plain data, no imports: next.config.ts loads this file.
 */
export const COMMON_HEADERS = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  // Report ids are the only key to an unlisted report: never leak them in a Referer.
  { key: "Referrer-Policy", value: "no-referrer" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  { key: "Cross-Origin-Resource-Policy", value: "same-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=(), usb=()" },
];

export const API_HEADERS = [{ key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'" }];
