/**
 * Puts a fresh nonce and the Content-Security-Policy (lib/security/content-security-policy.ts)
 * on every page request. Next reads the nonce from the request's CSP header and adds it to its
 * own scripts; pages must therefore be rendered per request (see the Next.js CSP guide).
 */
import { NextResponse, type NextRequest } from "next/server";
import { contentSecurityPolicy } from "@/lib/security/content-security-policy";

export function proxy(request: NextRequest): NextResponse {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  const https = request.nextUrl.protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
  const csp = contentSecurityPolicy(nonce, { dev: process.env.NODE_ENV === "development", https });

  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("Content-Security-Policy", csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", csp);
  return response;
}

// Not `/checks/new`: the no-JS form's POST is a route handler (no page, no nonce), and Next
// reads the whole body of every request a proxy runs for (up to 10 MB kept), before the route's
// own 8 KB cap could refuse it.
export const config = {
  matcher: [
    {
      source: "/((?!api/|checks/new$|_next/static|_next/image|favicon.ico|icon.svg).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
