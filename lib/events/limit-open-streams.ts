/**
 * Caps on open event streams, counted in this web process's memory: per client (the bucket the
 * rate limiter uses: an API key, or the hashed client address) and for the whole process.
 *
 * Why in memory and not in Redis: a stream lives exactly as long as its response in this
 * process, so the count can never leak past a crash, and the check costs nothing. Behind a load
 * balancer a client may hold the cap on each web process; that bounds it all the same.
 */
export interface OpenStreamLease {
  /** Idempotent: call it on every way out (end, error, client gone). */
  release(): void;
}

export type OpenStreamRefusal = "client-cap" | "process-cap";

export interface OpenStreamLimits {
  acquire(client: string): OpenStreamLease | OpenStreamRefusal;
  /** Open streams, in all or of one client. */
  count(client?: string): number;
}

export interface OpenStreamLimitsOptions {
  perClient: number;
  total: number;
}

export function createOpenStreamLimits(options: OpenStreamLimitsOptions): OpenStreamLimits {
  const perClient = new Map<string, number>();
  let total = 0;
  return {
    acquire(client) {
      const held = perClient.get(client) ?? 0;
      if (held >= options.perClient) return "client-cap";
      if (total >= options.total) return "process-cap";
      perClient.set(client, held + 1);
      total++;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          total--;
          const left = (perClient.get(client) ?? 1) - 1;
          if (left > 0) perClient.set(client, left);
          else perClient.delete(client);
        },
      };
    },
    count(client) {
      return client === undefined ? total : (perClient.get(client) ?? 0);
    },
  };
}
