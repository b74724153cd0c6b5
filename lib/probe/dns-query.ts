import { Resolver } from "node:dns/promises";

/**
 * One DNS question on a Resolver of its own, within `timeoutMs`. `Resolver#cancel` cancels
 * every query outstanding on a resolver, so a shared one would let one question that never
 * gets an answer (or one cancelled check) cut its siblings short; a resolver per question is
 * cheap (one c-ares channel) and fails alone. `tries: 1`: c-ares drops a late answer to an
 * earlier try, so a retry would only shorten the time a slow server gets.
 *
 * Rejects like node:dns (`code` ENOTFOUND, ENODATA, ESERVFAIL, EREFUSED…), with ETIMEOUT when no
 * answer came in time and ECANCELLED when `signal` aborted.
 */
export async function queryDns<T>(servers: readonly string[], timeoutMs: number, ask: (resolver: Resolver) => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) throw dnsError("DNS query cancelled", "ECANCELLED");
  const resolver = new Resolver({ timeout: Math.max(1, Math.round(timeoutMs)), tries: 1 });
  if (servers.length) resolver.setServers([...servers]);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      ask(resolver),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(dnsError("DNS timeout", "ETIMEOUT")), timeoutMs);
        onAbort = () => reject(dnsError("DNS query cancelled", "ECANCELLED"));
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    resolver.cancel(); // this question only, if it is still outstanding
  }
}

function dnsError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export function dnsErrorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
