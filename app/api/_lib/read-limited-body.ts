import { AppError } from "@/lib/errors";

/** Largest request body the service reads: a check request is a few hundred bytes. */
export const MAX_BODY_BYTES = 8 * 1024;

/**
 * The request's body, at most MAX_BODY_BYTES, or AppError "payload_too_large" (413). A declared
 * Content-Length over the cap is refused before a byte is read; the length is not trusted
 * otherwise (it can lie, and a chunked body has none), so the bytes are counted as they stream
 * in and the stream is cancelled at the first byte past the cap: a 30 MB body costs 8 KB.
 */
export async function readLimitedBody(request: Request): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function tooLarge(): AppError {
  return new AppError("payload_too_large", `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
}
