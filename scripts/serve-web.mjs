#!/usr/bin/env node
/**
 * The web server: Next.js's request handler behind a plain node:http server of ours, for one
 * reason: Next gives route handlers no socket address, and keeps a client's own
 * X-Forwarded-For. This server replaces two headers on every request before Next sees it:
 *   x-relaycheck-peer           the socket's peer address (always);
 *   x-relaycheck-forwarded-for  the X-Forwarded-For it received (absent if none);
 * lib/security/client-ip.ts then trusts X-Forwarded-For only as far as TRUST_PROXY says.
 *
 * Live event streams (GET /api/v1/checks/<id>/events) and a check as JSON (GET
 * /api/v1/checks/<id>) are answered by node-level handlers that instrumentation.ts installs
 * (app/api/_lib/serve-events-node.ts, serve-check-node.ts), not by the Next routes: the same
 * answers for a fraction of the memory per open stream, and of the time per report read.
 *
 * Usage: node scripts/serve-web.mjs [dir]   (dir: the app, or a standalone build folder;
 * default: the working directory). HOST and PORT choose the address (default 127.0.0.1:3000).
 */
import http from "node:http";
import path from "node:path";
import fs from "node:fs";

const dir = path.resolve(process.argv[2] ?? process.cwd());
const hostname = process.env.HOST || process.env.HOSTNAME || "127.0.0.1";
const port = Number(process.env.PORT || 3000);

process.env.NODE_ENV = "production";
process.chdir(dir);

// A standalone build carries its config serialized; the app's own .next has it too.
const serverFiles = path.join(dir, ".next", "required-server-files.json");
const conf = fs.existsSync(serverFiles) ? JSON.parse(fs.readFileSync(serverFiles, "utf8")).config : undefined;
if (conf) process.env.__NEXT_PRIVATE_STANDALONE_CONFIG = JSON.stringify(conf);

const { default: next } = await import(path.join(dir, "node_modules", "next", "dist", "server", "next.js")).catch(() => import("next"));
const app = next({ dev: false, dir, hostname, port, conf, customServer: true });
await app.prepare();
const handle = app.getRequestHandler();
/**
 * Node-level handlers, installed by instrumentation.ts once Next has loaded it (during prepare),
 * each for one GET path whose part in brackets is a check id:
 * - live event streams (/api/v1/checks/<id>/events): far less memory per open stream;
 *   RELAYCHECK_SSE_VIA_NEXT=1 leaves them to the Next route (bench/sse-fan-out.ts compares);
 * - a check as JSON (/api/v1/checks/<id>): a finished report from memory without Next's
 *   per-request machinery; RELAYCHECK_REPORT_VIA_NEXT=1 leaves it to the Next route.
 */
const NODE_HANDLERS = [
  { path: /^\/api\/v1\/checks\/([^/?#]+)\/events(?:[?#]|$)/, handler: () => (process.env.RELAYCHECK_SSE_VIA_NEXT === "1" ? undefined : globalThis.__relaycheckServeEvents) },
  { path: /^\/api\/v1\/checks\/([^/?#]+)(?:[?#]|$)/, handler: () => (process.env.RELAYCHECK_REPORT_VIA_NEXT === "1" ? undefined : globalThis.__relaycheckServeCheck) },
];

/** The node-level handler of this request and its check id, if there is one. */
function nodeHandlerOf(req) {
  if (req.method !== "GET") return undefined;
  for (const { path, handler } of NODE_HANDLERS) {
    const match = path.exec(req.url ?? "");
    if (!match) continue;
    const serve = handler();
    if (!serve) return undefined;
    let id = match[1];
    try {
      id = decodeURIComponent(id);
    } catch {
      // Not a check id either way: the handler answers 404.
    }
    return { serve, id };
  }
  return undefined;
}

/**
 * Finished reports' pages kept whole for a few seconds (app/_lib/report-page-cache.ts), also
 * installed by instrumentation.ts: answers a browser's document request for one, or lets Next
 * render it and keeps it. RELAYCHECK_PAGE_VIA_NEXT=1 leaves every page to Next.
 */
const serveReportPage = () => (process.env.RELAYCHECK_PAGE_VIA_NEXT === "1" ? undefined : globalThis.__relaycheckServeReportPage);

const server = http.createServer((req, res) => {
  const forwarded = req.headers["x-forwarded-for"];
  delete req.headers["x-relaycheck-peer"];
  delete req.headers["x-relaycheck-forwarded-for"];
  req.headers["x-relaycheck-peer"] = req.socket.remoteAddress ?? "";
  if (forwarded) req.headers["x-relaycheck-forwarded-for"] = Array.isArray(forwarded) ? forwarded.join(", ") : forwarded;
  const node = nodeHandlerOf(req);
  if (node) {
    node.serve(req, res, node.id).catch((err) => {
      console.error(err);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end('{"error":{"code":"internal","message":"Internal server error."}}');
    });
    return;
  }
  if (serveReportPage()?.(req, res)) return;
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
    res.end('{"error":{"code":"internal","message":"Internal server error."}}');
  });
});
// SSE responses stay open for minutes: no request timeout, but a bounded header wait.
server.requestTimeout = 0;
server.headersTimeout = 30_000;
server.keepAliveTimeout = 65_000;

server.listen(port, hostname, () => {
  const address = server.address();
  const shown = typeof address === "object" && address ? `${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}` : `${hostname}:${port}`;
  console.log(`relaycheck web listening on http://${shown}`);
});

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`relaycheck web stopping (${signal})`);
  server.close(() => process.exit(0));
  server.closeIdleConnections?.();
  // Live event streams never end on their own: give them a moment, then go.
  setTimeout(() => {
    server.closeAllConnections?.();
    process.exit(0);
  }, 3000).unref();
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
