import type { z } from "zod";
import { AppError } from "@/lib/errors";
import { readLimitedBody } from "./read-limited-body";

/** `application/json`, with parameters or not (`; charset=utf-8`), in any letter case. */
const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;

/**
 * The request's JSON body, size-limited and checked against `schema`.
 * - 415 unless the body is declared `Content-Type: application/json`: a foreign page can make a
 *   visitor's browser send text/plain, a form or no type at all without asking (a CORS "simple
 *   request", which would start checks on the visitor's quota), but not application/json, which
 *   needs a preflight this API never grants;
 * - 413 past MAX_BODY_BYTES (readLimitedBody);
 * - 400 for anything that is not JSON or does not match.
 */
export async function readJsonBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  if (!JSON_MEDIA_TYPE.test(request.headers.get("content-type")?.trim() ?? "")) {
    throw new AppError("unsupported_media_type", "Send the request body as JSON, with the header Content-Type: application/json.");
  }
  const text = new TextDecoder().decode(await readLimitedBody(request));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "The request body is not valid JSON.");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    throw new AppError("bad_request", `Invalid request: ${where}${issue?.message ?? "bad value"}.`);
  }
  return parsed.data;
}
