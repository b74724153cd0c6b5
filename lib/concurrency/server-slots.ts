/**
 * A counting semaphore per mail server address, shared by every worker through Redis: at most
 * `limit` probes of one IP address at once, whatever its port and whichever worker runs them
 * (the engine opens at most `maxParallelSessions` connections per probe, so one probe per address
 * keeps a server at a couple of connections).
 *
 * Each address is a sorted set `${prefix}:${ip}` of leases: member = a random token, score = the
 * lease's expiry (Redis's own clock). Acquiring drops expired leases and adds one if fewer than
 * `limit` remain, in one Lua script (atomic). A lease is short (`leaseMs`, seconds) and renewed
 * by its holder every third of it, so a worker that dies while holding a slot frees it within
 * `leaseMs`. A renewal that finds its lease gone (Redis lost its data) takes a slot again if one
 * is free; a lease that can be neither renewed nor taken again before it expires is lost, and the
 * holder is told (`onLost`) so it stops probing: a server is never probed by two holders at once.
 * Waiters poll with a growing, jittered backoff until they get a slot or their signal aborts.
 */
import { randomBytes } from "node:crypto";
import type { RedisClient } from "@/lib/queue/create-redis";

export interface ServerSlotsOptions {
  /** Key prefix, e.g. "relaycheck:server-slots". */
  prefix: string;
  /** Probes of one address at once, across all workers. */
  limit: number;
  /** A slot not released within this time is given up (a crashed worker). */
  leaseMs: number;
  /** Backoff between attempts while waiting: starts at minPollMs, grows to maxPollMs. */
  minPollMs?: number;
  maxPollMs?: number;
}

export interface AcquireOptions {
  /** Stop waiting when this aborts (the check's own timeout, a worker shutdown). */
  signal?: AbortSignal;
  /** Called once when the first attempt finds every slot taken, then every `waitingEveryMs`. */
  onWaiting?: (info: { ip: string; waitedMs: number; attempts: number }) => void;
  waitingEveryMs?: number;
  /** Called when Redis fails during an attempt; the waiter keeps trying until its signal aborts. */
  onError?: (error: unknown) => void;
  /** Called once if the lease, once held, could not be kept (its holder must stop probing). */
  onLost?: () => void;
}

/**
 * KEYS[1] = the address's set; ARGV = limit, leaseMs, token. Extends the lease of `token`, or
 * takes a slot again for it when it vanished and one is free. Returns 1 (held) or 0 (lost).
 */
const RENEW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
end
local expiry = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expiry, ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.max(expiry, tonumber(last[2])))
return 1
`;

export interface SlotLease {
  /** False when the signal aborted before a slot was free: nothing is held. */
  acquired: boolean;
  /** Gives the slot back (idempotent); resolves false when the lease had already expired. */
  release(): Promise<boolean>;
}

const DEFAULT_MIN_POLL_MS = 25;
const DEFAULT_MAX_POLL_MS = 1_000;
const DEFAULT_WAITING_EVERY_MS = 10_000;
/** One Redis round trip; past this the attempt counts as failed and the waiter tries again. */
const REDIS_ATTEMPT_TIMEOUT_MS = 5_000;

/**
 * KEYS[1] = the address's set; ARGV = limit, leaseMs, token.
 * Returns 1 (slot taken) or 0 (all taken). The key expires with its last lease.
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
local expiry = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expiry, ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.max(expiry, tonumber(last[2])))
return 1
`;

export interface ServerSlots {
  /** Waits for a slot on `ip`; with an aborted signal returns a lease with `acquired: false`. */
  acquire(ip: string, options?: AcquireOptions): Promise<SlotLease>;
  /** Leases currently held on `ip` (expired ones not counted). */
  held(ip: string): Promise<number>;
}

export function createServerSlots(redis: RedisClient, options: ServerSlotsOptions): ServerSlots {
  const minPoll = options.minPollMs ?? DEFAULT_MIN_POLL_MS;
  const maxPoll = options.maxPollMs ?? DEFAULT_MAX_POLL_MS;
  const keyOf = (ip: string) => `${options.prefix}:${ip}`;

  async function tryAcquire(key: string, token: string): Promise<boolean> {
    const result = await withTimeout(redis.eval(ACQUIRE_SCRIPT, 1, key, String(options.limit), String(options.leaseMs), token), REDIS_ATTEMPT_TIMEOUT_MS);
    return result === 1;
  }

  return {
    async acquire(ip, acquireOptions = {}) {
      const { signal, onWaiting, onError } = acquireOptions;
      const waitingEvery = acquireOptions.waitingEveryMs ?? DEFAULT_WAITING_EVERY_MS;
      const key = keyOf(ip);
      const token = randomBytes(12).toString("base64url");
      const started = performance.now();
      let attempts = 0;
      let nextNotice = 0;
      let delay = minPoll;
      while (!signal?.aborted) {
        attempts++;
        let ok = false;
        try {
          ok = await tryAcquire(key, token);
        } catch (e) {
          onError?.(e);
        }
        if (ok) return heldLease(redis, key, token, options, acquireOptions);
        const waited = performance.now() - started;
        if (waited >= nextNotice) {
          onWaiting?.({ ip, waitedMs: Math.round(waited), attempts });
          nextNotice = waited + waitingEvery;
        }
        await pause(delay * (0.5 + Math.random() / 2), signal);
        delay = Math.min(maxPoll, delay * 1.5);
      }
      return { acquired: false, release: async () => false };
    },

    async held(ip) {
      const [seconds, micros] = await redis.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      return redis.zcount(keyOf(ip), now, "+inf");
    },
  };
}

function heldLease(redis: RedisClient, key: string, token: string, options: ServerSlotsOptions, acquireOptions: AcquireOptions): SlotLease {
  let released: Promise<boolean> | null = null;
  let lost = false;
  let heldUntil = Date.now() + options.leaseMs;
  const renew = async () => {
    if (released || lost) return;
    let held: boolean | null = null;
    try {
      const r = await withTimeout(redis.eval(RENEW_SCRIPT, 1, key, String(options.limit), String(options.leaseMs), token), REDIS_ATTEMPT_TIMEOUT_MS);
      held = r === 1;
    } catch (e) {
      acquireOptions.onError?.(e);
    }
    if (released || lost) return;
    if (held) heldUntil = Date.now() + options.leaseMs;
    // Not renewed: keep trying while the lease may still stand; past it, or taken by others, it is lost.
    if (held === false || (held === null && Date.now() >= heldUntil)) {
      lost = true;
      clearInterval(timer);
      acquireOptions.onLost?.();
    }
  };
  const timer = setInterval(() => void renew(), Math.max(100, Math.floor(options.leaseMs / 3)));
  timer.unref();
  return {
    acquired: true,
    release() {
      clearInterval(timer);
      released ??= withTimeout(redis.zrem(key, token), REDIS_ATTEMPT_TIMEOUT_MS).then((n) => n === 1);
      return released;
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
