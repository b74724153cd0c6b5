/** Client side of `POST /api/v1/checks`: one place that reads the API's answer or error. */

export interface SubmitBody {
  target: string;
  ports?: number[];
  fresh?: boolean;
  proveDelivery?: boolean;
}

export type SubmitResult =
  | { ok: true; id: string; url: string; reused: boolean; status: string }
  | { ok: false; code: string; message: string };

interface Created {
  id?: unknown;
  url?: unknown;
  status?: unknown;
  reused?: unknown;
}

interface ApiError {
  error?: { code?: unknown; message?: unknown };
}

export async function submitCheck(body: SubmitBody, signal?: AbortSignal): Promise<SubmitResult> {
  let res: Response;
  try {
    res = await fetch("/api/v1/checks", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  } catch {
    return { ok: false, code: "network", message: "Could not reach relaycheck. Check your connection and try again." };
  }
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    // Not JSON: handled below with the status code.
  }
  if (res.ok && json && typeof json === "object") {
    const c = json as Created;
    if (typeof c.id === "string" && typeof c.url === "string") {
      return { ok: true, id: c.id, url: c.url, reused: c.reused === true, status: typeof c.status === "string" ? c.status : "queued" };
    }
  }
  const e = (json as ApiError | null)?.error;
  const retry = res.headers.get("retry-after");
  const message = typeof e?.message === "string" ? e.message : `The server answered ${res.status} ${res.statusText}.`;
  return {
    ok: false,
    code: typeof e?.code === "string" ? e.code : `http-${res.status}`,
    message: retry && res.status === 429 && !/\d+\s*s/.test(message) ? `${message} Try again in ${retry} s.` : message,
  };
}

/** Only our own paths are followed: never a URL from elsewhere (no `javascript:`). */
export function safePath(url: string, fallback: string): string {
  return url.startsWith("/") && !url.startsWith("//") ? url : fallback;
}
