import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendWebhook } from "./send-webhook";
import { verifyWebhookSignature } from "./sign-webhook";

const HOST = "127.0.0.212";
let server: http.Server;
let base: string;
const seen: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ path: req.url ?? "", headers: req.headers, body });
      const status = Number((req.url ?? "").slice(1)) || 204;
      res.writeHead(status, status === 302 ? { Location: "http://169.254.169.254/" } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  base = `http://${HOST}:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const request = (path: string) => ({ url: `${base}${path}`, body: '{"type":"monitor.test"}', secret: "whsec_t", event: "monitor.test", deliveryId: "d1" });
const LOOPBACK = { allow: ["127.0.0.0/8"] };

describe("sendWebhook", () => {
  it.each([
    ["a 2xx is delivered", "/204", { ok: true, statusCode: 204, permanent: false }],
    ["a 500 is tried again", "/500", { ok: false, statusCode: 500, permanent: false }],
    ["a 429 is tried again", "/429", { ok: false, statusCode: 429, permanent: false }],
    ["a 404 is given up", "/404", { ok: false, statusCode: 404, permanent: true }],
    ["a redirect is not followed, and given up", "/302", { ok: false, statusCode: 302, permanent: true, error: "redirects are not followed" }],
  ])("%s", async (_, path, expected) => {
    expect(await sendWebhook(request(path), LOOPBACK)).toMatchObject(expected);
  });

  it("posts the body signed, with the event and delivery headers", async () => {
    await sendWebhook(request("/200"), LOOPBACK);
    const hit = seen.find((s) => s.path === "/200")!;
    expect(hit.headers["content-type"]).toBe("application/json");
    expect(hit.headers["x-relaycheck-event"]).toBe("monitor.test");
    expect(hit.headers["x-relaycheck-delivery"]).toBe("d1");
    expect(verifyWebhookSignature("whsec_t", hit.headers["x-relaycheck-signature"] as string, hit.body)).toBe(true);
  });

  it.each([
    ["loopback, without the operator's allow-list", `${"http://127.0.0.212:9"}/x`, { allow: [] }, /loopback/],
    ["the cloud metadata address", "http://169.254.169.254/latest/meta-data", LOOPBACK, /metadata/],
    ["a private network", "http://[fd00::1]:8080/", LOOPBACK, /fd00::1/],
  ])("refuses %s without connecting", async (_, url, options, reason) => {
    const before = seen.length;
    const result = await sendWebhook({ ...request(""), url }, options);
    expect(result).toMatchObject({ ok: false, statusCode: null, permanent: true });
    expect(result.error).toMatch(reason);
    expect(seen.length).toBe(before);
  });

  it("says so when nobody answers", async () => {
    expect(await sendWebhook({ ...request(""), url: "http://127.0.0.213:9/" }, LOOPBACK)).toMatchObject({ ok: false, statusCode: null, permanent: false, error: expect.stringMatching(/ECONNREFUSED/) });
  });
});
