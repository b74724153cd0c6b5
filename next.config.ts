import type { NextConfig } from "next";
import { API_HEADERS, COMMON_HEADERS } from "./lib/security/response-headers";

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
      { source: "/:path*", headers: COMMON_HEADERS },
      { source: "/api/:path*", headers: API_HEADERS },
      // Badges are embedded in other sites' pages (the last match of a header wins).
      { source: "/api/v1/:kind(checks|monitors)/:id/badge.svg", headers: [{ key: "Cross-Origin-Resource-Policy", value: "cross-origin" }] },
    ];
  },
};

export default nextConfig;
