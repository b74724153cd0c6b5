/**
 * What the service accepts as a request body, on the built app behind scripts/serve-web.mjs:
 * - the no-JS form (POST /checks/new) has the JSON API's 8 KB cap: a larger body gets 413 before it
 *   has been sent in full (by its Content-Length, or counted as it streams), the web server stays
 *   up, and a normal form post still starts a check, under the same per-client limit as the API;
 * - the JSON API takes only `Content-Type: application/json` (415 otherwise), so a foreign page
 *   cannot start checks from a visitor's browser with a CORS "simple request".
 * Targets are 127.0.0.20x with nothing listening: the checks end unreachable, which is all these
 * tests need.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "@/tests/support/service";
import { loadOpenApi, responseSchemaName, type OpenApiValidator } from "./openapi-validator";

const CLIENT_POINTS = 3;
const ONE_MB = 1024 * 1024;

let service: RunningService;
let api: OpenApiValidator;
let clients = 0;

/** Each test acts as a client of its own (TRUST_PROXY=1 in the harness). */
function newClient(): Record<string, string> {
  clients += 1;
  return { "x-forwarded-for": `192.0.2.${clients}` };
}

beforeAll(async () => {
  service = await startService({ env: { RATE_LIMIT_CLIENT_POINTS: String(CLIENT_POINTS) } });
  // Healthy before the tests: a cold web's first database query may outlast the health probe's
  // 3 s on a loaded machine, and "stays up" below should measure the 413, not the cold start.
  for (let i = 0; i < 20 && (await health()) !== 200; i++) await new Promise((r) => setTimeout(r, 500));
  api = await loadOpenApi(service.baseUrl);
});

afterAll(async () => {
  await service?.stop();
});

/**
 * POSTs to `path` with a body of `total` bytes of which only `send` are written; resolves with
 * the response as soon as it arrives, with the body still open when `send` < `total`. A server
 * that answers then has not waited for (or read) the rest.
 */
function postPartly(path: string, options: { total: number; send: number; declareLength: boolean; headers?: Record<string, string> }) {
  return new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
    const url = new URL(path, service.baseUrl);
    const req = http.request(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        ...(options.declareLength ? { "content-length": String(options.total) } : {}),
        ...options.headers,
      },
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection });
        req.destroy();
      });
    });
    // The server may close the connection while the rest is unsent: expected, not a failure.
    req.on("error", (e) => (req.writableEnded ? reject(e) : undefined));
    const head = `target=127.0.0.201&pad=`;
    req.write(head + "a".repeat(Math.max(0, options.send - head.length)));
    if (options.send >= options.total) req.end();
  });
}

async function formPost(body: string, headers: Record<string, string>) {
  return fetch(`${service.baseUrl}/checks/new`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
    redirect: "manual",
  });
}

async function health(): Promise<number> {
  return (await fetch(`${service.baseUrl}/api/health`)).status;
}

describe("the no-JS form (POST /checks/new)", () => {
  it("refuses a declared 1 MB body with 413 after its first 16 KB, and the web server stays up", async () => {
    const r = await postPartly("/checks/new", { total: ONE_MB, send: 16 * 1024, declareLength: true, headers: newClient() });
    expect(r.status).toBe(413);
    expect(r.body).toMatch(/larger than 8192 bytes/);
    expect(await health()).toBe(200);
  });

  it("refuses a streamed body (no Content-Length) with 413 once past 8 KB, without waiting for the rest", async () => {
    const r = await postPartly("/checks/new", { total: ONE_MB, send: 64 * 1024, declareLength: false, headers: newClient() });
    expect(r.status).toBe(413);
    expect(r.body).toMatch(/larger than 8192 bytes/);
    expect(await health()).toBe(200);
  });

  it("refuses a whole 1 MB form sent at once, and still takes a normal form post afterwards", async () => {
    const client = newClient();
    const big = await formPost(`target=127.0.0.202&pad=${"a".repeat(ONE_MB)}`, client);
    expect(big.status).toBe(413);
    expect(await health()).toBe(200);

    const ok = await formPost("target=127.0.0.202", client);
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toMatch(/^\/checks\/[A-Za-z0-9_-]{22}$/);
  });

  it("counts against the same per-client limit as POST /api/v1/checks", async () => {
    const client = newClient();
    for (let i = 0; i < CLIENT_POINTS - 1; i++) {
      const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
        method: "POST",
        headers: { "content-type": "application/json", ...client },
        body: JSON.stringify({ target: `127.0.0.20${3 + i}` }),
      });
      expect(res.status).toBeLessThan(300);
    }
    const last = await formPost("target=127.0.0.206", client);
    expect(last.status).toBe(303);
    expect(last.headers.get("location")).toMatch(/^\/checks\//);

    // The client's points are spent, by the API and the form alike: the form says so.
    const refused = await formPost("target=127.0.0.207", client);
    expect(refused.status).toBe(303);
    const back = new URL(refused.headers.get("location")!, service.baseUrl);
    expect(back.pathname).toBe("/");
    expect(back.searchParams.get("error")).toMatch(/Too many checks from your address/);
    const api429 = await fetch(`${service.baseUrl}/api/v1/checks`, {
      method: "POST",
      headers: { "content-type": "application/json", ...client },
      body: JSON.stringify({ target: "127.0.0.207" }),
    });
    expect(api429.status).toBe(429);
  });
});

describe("the JSON API's content type", () => {
  it.each<[string, Record<string, string>]>([
    ["text/plain (a CORS simple request)", { "content-type": "text/plain" }],
    ["text/plain with a charset", { "content-type": "text/plain;charset=UTF-8" }],
    ["a form", { "content-type": "application/x-www-form-urlencoded" }],
    ["multipart", { "content-type": "multipart/form-data; boundary=x" }],
    ["no content type at all", {}],
    ["a look-alike type", { "content-type": "application/jsonx" }],
  ])("%s → 415 unsupported_media_type", async (_name, headers) => {
    const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
      method: "POST",
      // A Blob body has no type of its own: fetch adds no Content-Type unless one is given.
      headers: { ...headers, ...newClient() },
      body: new Blob([JSON.stringify({ target: "127.0.0.208" })]),
    });
    expect(res.status).toBe(415);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error).toEqual({ code: "unsupported_media_type", message: "Send the request body as JSON, with the header Content-Type: application/json." });
    // The document lists the 415 answer; the Error schema's code enum is generated elsewhere.
    expect(responseSchemaName(api.document, "/api/v1/checks", "post", 415)).toBe("Error");
  });

  it.each([["application/json"], ["application/json; charset=utf-8"], ["Application/JSON;charset=UTF-8"]])("%s → accepted", async (contentType) => {
    const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
      method: "POST",
      headers: { "content-type": contentType, ...newClient() },
      body: JSON.stringify({ target: "127.0.0.209" }),
    });
    expect([200, 202]).toContain(res.status);
  });
});
