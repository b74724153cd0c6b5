import { POST as createCheckApi } from "@/app/api/v1/checks/route";
import { readLimitedBody } from "@/app/api/_lib/read-limited-body";
import { isAppError } from "@/lib/errors";

/**
 * POST /checks/new: the check form without JavaScript (GET /checks is the history page, and a
 * page and a route handler cannot share a segment). It reads the form under the JSON API's body
 * cap (8 KB, streamed: a larger body is refused with 413 before it is read), then hands it to the
 * API's own handler (same validation, rate limits and reuse rules, in the same order), and answers
 * 303: to the permalink on success, back to the form with the API's message otherwise.
 */
export async function POST(request: Request): Promise<Response> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readLimitedBody(request);
  } catch (e) {
    if (!isAppError(e)) throw e;
    return new Response(`${e.message} The form sends far less; please go back and try again.\n`, {
      status: 413,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", connection: "close" },
    });
  }
  const contentType = request.headers.get("content-type") ?? "application/x-www-form-urlencoded";
  const form = await new Response(bytes, { headers: { "content-type": contentType } }).formData().catch(() => null);
  const target = String(form?.get("target") ?? "").trim();
  const ports = (form?.getAll("ports") ?? []).map((p) => Number(p)).filter((p) => Number.isInteger(p));
  const fresh = form?.get("fresh") === "1";
  const proveDelivery = form?.get("proveDelivery") === "true";

  const headers = new Headers(request.headers);
  headers.set("content-type", "application/json");
  headers.set("accept", "application/json");
  headers.delete("content-length");
  const apiRequest = new Request(new URL("/api/v1/checks", request.url), {
    method: "POST",
    headers,
    body: JSON.stringify({ target, ...(ports.length ? { ports } : {}), ...(fresh ? { fresh: true } : {}), ...(proveDelivery ? { proveDelivery: true } : {}) }),
  });
  const res = await createCheckApi(apiRequest);
  const body = (await res.json().catch(() => null)) as { url?: unknown; error?: { message?: unknown } } | null;

  if (res.ok && typeof body?.url === "string" && body.url.startsWith("/") && !body.url.startsWith("//")) {
    return redirectTo(new URL(body.url, request.url));
  }
  const message = typeof body?.error?.message === "string" ? body.error.message : "The check could not be started. Please try again.";
  const back = new URL("/", request.url);
  back.searchParams.set("error", message);
  if (target) back.searchParams.set("target", target.slice(0, 255));
  return redirectTo(back);
}

function redirectTo(url: URL): Response {
  return new Response(null, { status: 303, headers: { location: url.pathname + url.search } });
}

/** GET /checks/new (a reload after the form went through): the form itself. */
export function GET(request: Request): Response {
  return redirectTo(new URL("/", request.url));
}
