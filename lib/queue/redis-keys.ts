/**
 * Where each group of the service's Redis keys lives. On one Redis server the names are the
 * historical ones (`relaycheck:…`, BullMQ's `relaycheck:checks:…`). On a Redis Cluster a command
 * or script that touches several keys needs them all in one hash slot, so two groups get a hash
 * tag (`{…}`: only the part inside the braces is hashed):
 * - the BullMQ queue, `{relaycheck}:checks:…`: BullMQ's Lua scripts move jobs between a queue's
 *   lists, sets and hashes, so a queue must sit in one slot (BullMQ's docs: "use a hash tag in
 *   the prefix");
 * - the live streams, `{relaycheck:streams}:check:<id>:events`: each web process reads the streams of
 *   every check it shows with ONE blocking XREAD (lib/events/live-fan-out.ts), and XREAD over
 *   several keys needs one slot. One slot holds ~120 small entries per check, each kept an hour:
 *   one master serves that for thousands of checks a minute, and one reader per web process stays
 *   one connection (a reader per slot would need up to 16,384).
 * Everything else is one key per command and spreads over all masters by its own name: the rate
 * limiters (`relaycheck:rl:…`), the per-server probe slots (`relaycheck:server-slots:<ip>`, one
 * key per Lua script) and the blocklist cache (`relaycheck:dnsbl:…`).
 */
export interface RedisKeys {
  /** BullMQ prefix of the queue. */
  queue: string;
  /** Prefix of the per-check live streams (lib/events/check-stream.ts). */
  streams: string;
  rateLimits: string;
  serverSlots: string;
  blocklistCache: string;
}

export function redisKeysOf(prefix: string, cluster: boolean): RedisKeys {
  return {
    queue: cluster ? `{${prefix}}` : prefix,
    streams: cluster ? `{${prefix}:streams}` : prefix,
    rateLimits: `${prefix}:rl`,
    serverSlots: `${prefix}:server-slots`,
    blocklistCache: `${prefix}:dnsbl`,
  };
}
