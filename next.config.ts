import type { NextConfig } from "next";

/**
 * Headers every response carries. The Content-Security-Policy of pages is set per request by
 * proxy.ts (it needs a fresh nonce for Next's inline scripts); API responses get a policy that
 * allows nothing, since they are never meant to render.
 */
const commonHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  // Report ids are the only key to an unlisted report: never leak them in a Referer.
  { key: "Referrer-Policy", value: "no-referrer" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  { key: "Cross-Origin-Resource-Policy", value: "same-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=(), usb=()" },
];

const nextConfig: NextConfig = {
  output: "standalone",
  poweredByHeader: false,
  // `npm run typecheck` checks the whole repository (tests included) in CI; the build itself must
  // not fail on a test file's types, nor spend a minute repeating that check.
  typescript: { ignoreBuildErrors: true },
  // Loaded by Node at run time rather than bundled: BullMQ reads its Lua scripts from disk,
  // pino and pg have optional native/worker parts; prom-client and nodemailer (alerts, metrics)
  // are plain Node libraries with nothing to gain from bundling.
  serverExternalPackages: ["bullmq", "ioredis", "pino", "pg", "@prisma/adapter-pg", "rate-limiter-flexible", "prom-client", "nodemailer"],
  async headers() {
    return [
      { source: "/:path*", headers: commonHeaders },
      { source: "/api/:path*", headers: [{ key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'" }] },
      // Badges are embedded in other sites' pages (the last match of a header wins).
      { source: "/api/v1/:kind(checks|monitors)/:id/badge.svg", headers: [{ key: "Cross-Origin-Resource-Policy", value: "cross-origin" }] },
    ];
  },
};

export default nextConfig;
