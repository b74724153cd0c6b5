/**
 * Live entries of many Redis Streams for many viewers, on ONE blocking Redis connection per
 * process. Why: a blocked connection serves nobody else, so a reader per viewer costs one Redis
 * connection per open browser tab (10,000 tabs exhaust Redis `maxclients` for everyone, the
 * workers included) and one database read per tab on connect and keep-alive.
 *
 * Shape: a *topic* per stream that has viewers (here: a check), a *subscriber* per viewer.
 * - The reader issues one `XREAD BLOCK` over the keys of all live topics, each from its own
 *   position, and re-issues it when the key set grows (`CLIENT UNBLOCK` of its own connection,
 *   sent on the control connection; a short BLOCK timeout is the safety net).
 * - A topic hands each entry, in order and once, to every subscriber. It fills a gap (an entry
 *   trimmed from the capped stream, or never written to Redis) from the store of record
 *   (`LiveSource`, PostgreSQL) before going on, so subscribers only ever see increasing numbers.
 * - A subscriber that joins gets its catch-up from the store, read once per *batch* of joiners
 *   (at most one such read runs per topic: a crowd that arrives together costs one or two reads),
 *   then the live entries that arrived meanwhile, skipping those the catch-up already had.
 *   Correct because the store is written before the stream: whatever the topic delivered before
 *   the subscriber joined is in the store when its catch-up read starts.
 * - Each subscriber's queue is bounded: a viewer that falls too far behind is ended (its
 *   EventSource reconnects with Last-Event-ID and replays from the store); others never wait.
 * - Every `statusPollMs`, one `head` read per topic (not per viewer) notices entries that reached
 *   the store but not Redis (a terminal entry written while Redis was down) and delivers them.
 * - Keep-alives and lifetimes are one timer per process, not one per viewer.
 *
 * Nothing here knows about checks or databases: the source, the key of a topic and what ends a
 * topic are options (lib/checks/stream-check-events.ts wires them).
 */
import { duplicateRedis, nodeOfKey, type RedisClient } from "@/lib/queue/create-redis";
import { entriesOf } from "./check-stream";

/** One event of a topic: its number, its type, and its JSON text (shared by all subscribers). */
export interface LiveEntry {
  readonly seq: number;
  readonly type: string;
  readonly data: string;
}

/** Where the store of record stands for a topic. */
export interface LiveHead {
  lastSeq: number;
  /** The topic has its terminal entry: nothing more will come. */
  ended: boolean;
}

export interface LiveSource {
  /** Null when there is no such topic. */
  head(topic: string): Promise<LiveHead | null>;
  /**
   * Entries after `afterSeq` (up to `upToSeq` when given), in order. Without `upToSeq`, for a
   * topic that has ended, the list ends with its terminal entry.
   */
  read(topic: string, afterSeq: number, upToSeq?: number): Promise<LiveEntry[]>;
}

/** Why a subscription ended. Only "terminal" means the topic is complete. */
export type LiveEnd = "terminal" | "lifetime" | "overflow" | "error" | "gone" | "closed";

/** What `take` gives: entries, or none (`idle`: a keep-alive is due), and whether it is over. */
export interface LiveBatch {
  entries: LiveEntry[];
  end: LiveEnd | null;
}

export interface LiveSubscription {
  /** The topic had ended when we joined and the subscriber has every entry: nothing to send. */
  readonly complete: boolean;
  /** The next entries; waits for news, the idle period, the deadline, or the end. One caller at a time. */
  take(): Promise<LiveBatch>;
  /**
   * Resolves when the subscription has ended, whether or not its consumer has taken the end
   * yet: a consumer that stops taking (a viewer that stopped reading) can be cut off.
   */
  readonly ended: Promise<LiveEnd>;
  /** The viewer left. Idempotent. */
  close(): void;
}

export interface SubscribeOptions {
  /** The viewer has every entry up to this one (Last-Event-ID; 0 for all). */
  afterSeq: number;
  /** Epoch ms after which the subscription ends ("lifetime"). */
  deadline?: number;
}

export interface LiveFanOutOptions {
  /**
   * Duplicated for the blocking reader; also sends CLIENT UNBLOCK (so: not itself blocked). On a
   * Redis Cluster every topic's key must be in one hash slot (one XREAD reads them all).
   */
  redis: RedisClient;
  /** Name of the reader connection (CLIENT LIST). */
  readerName: string;
  keyOf(topic: string): string;
  source: LiveSource;
  isTerminal(entry: LiveEntry): boolean;
  /** Period of the per-topic head read. */
  statusPollMs: number;
  /** A waiting subscriber gets an empty batch (a keep-alive) after this long without news. */
  idleMs: number;
  /** Entries a subscriber may have waiting before it is ended as too slow. */
  queueLimit?: number;
  /** XREAD BLOCK timeout: the longest a new topic waits if CLIENT UNBLOCK is unavailable. */
  blockMs?: number;
  /** Period of the keep-alive and lifetime sweep. */
  tickMs?: number;
  onError?(error: unknown, context: { topic?: string; what: string }): void;
}

export interface LiveFanOutStats {
  topics: number;
  liveTopics: number;
  subscribers: number;
  /** Blocking Redis connections held (0 or 1). */
  readers: number;
}

export interface LiveFanOut {
  /** Null when the source knows no such topic. */
  subscribe(topic: string, options: SubscribeOptions): Promise<LiveSubscription | null>;
  stats(): LiveFanOutStats;
  close(): Promise<void>;
}

export const LIVE_QUEUE_LIMIT = 1000;
export const READER_BLOCK_MS = 2000;
export const SWEEP_TICK_MS = 1000;
/** Entries per key per XREAD. */
const READ_COUNT = 500;
/** Entries of a catch-up handed out per `take`. */
const TAKE_BATCH = 500;
const UNBLOCK_TRIES = 5;
const UNBLOCK_RETRY_MS = 10;
const READ_ERROR_BACKOFF_MS = 500;
/** Pacing of delivery rounds: this much time per viewer of the process between two rounds of a topic. */
const ROUND_COST_PER_VIEWER_MS = 0.1;
const BLOCK_GRACE_MS = 2000;

export function createLiveFanOut(options: LiveFanOutOptions): LiveFanOut {
  const queueLimit = options.queueLimit ?? LIVE_QUEUE_LIMIT;
  const blockMs = options.blockMs ?? READER_BLOCK_MS;
  const topics = new Map<string, Topic>();
  const report = (error: unknown, what: string, topic?: string) => options.onError?.(error, { what, topic });
  let subscriberCount = 0;
  let closed = false;

  // --- subscribers -------------------------------------------------------------------------

  class Subscriber implements LiveSubscription {
    complete = false;
    /** Highest seq queued for the viewer. */
    last: number;
    catchingUp = true;
    /** Live entries that arrived during the catch-up read. */
    buffer: LiveEntry[] = [];
    /** The catch-up (shared with the other joiners of its batch) and how far we are in it. */
    backlog: LiveEntry[] = [];
    backlogAt = 0;
    queue: LiveEntry[] = [];
    end: LiveEnd | null = null;
    waiter: ((batch: LiveBatch) => void) | null = null;
    waitingSince = 0;
    private left = false;
    /** Settles when the catch-up is in (or the subscription ended first); rejects if it failed. */
    readonly ready: Promise<void>;
    readonly ended: Promise<LiveEnd>;
    private resolveEnded!: (reason: LiveEnd) => void;
    private settle!: (error?: unknown) => void;

    constructor(
      readonly topic: Topic,
      afterSeq: number,
      readonly deadline: number,
    ) {
      this.last = afterSeq;
      this.ready = new Promise<void>((resolve, reject) => {
        this.settle = (error) => (error === undefined ? resolve() : reject(error));
      });
      this.ready.catch(() => {});
      this.ended = new Promise<LiveEnd>((resolve) => (this.resolveEnded = resolve));
    }

    /**
     * A live entry from the topic (in order, never twice). The topic wakes the viewer once it
     * has offered everything it has at hand, so that a burst goes out as one write.
     */
    offer(entry: LiveEntry): void {
      if (this.end) return;
      if (this.catchingUp) {
        if (this.buffer.length >= queueLimit) return this.finish("overflow");
        this.buffer.push(entry);
        return;
      }
      if (entry.seq <= this.last) return;
      if (this.queue.length >= queueLimit) return this.finish("overflow");
      this.queue.push(entry);
      this.last = entry.seq;
      if (options.isTerminal(entry)) this.endWith("terminal");
    }

    /** The catch-up read of this subscriber's batch is in: it goes first, then the buffer. */
    caughtUp(entries: LiveEntry[]): void {
      if (this.end) return;
      let i = firstAfter(entries, this.last);
      this.backlog = entries;
      this.backlogAt = i;
      for (; i < entries.length; i++) {
        this.last = entries[i]!.seq;
        if (options.isTerminal(entries[i]!)) {
          this.backlog = entries.slice(0, i + 1);
          this.endWith("terminal");
          break;
        }
      }
      this.catchingUp = false;
      const buffered = this.buffer;
      this.buffer = [];
      for (const entry of buffered) this.offer(entry);
      // An ended topic sends nothing live: whatever the catch-up had is all there is.
      if (this.topic.ended) this.finish("closed");
      this.settle();
      this.wake();
    }

    /** The catch-up read failed: the subscription ends, and `subscribe` throws the error. */
    catchUpFailed(error: unknown): void {
      this.settle(error);
      this.finish("error");
    }

    private endWith(reason: LiveEnd): void {
      this.end = reason;
      this.resolveEnded(reason);
    }

    get pending(): boolean {
      return this.backlogAt < this.backlog.length || this.queue.length > 0;
    }

    /** Ends the subscription; the first reason wins. Entries queued before it are still given out. */
    finish(reason: LiveEnd): void {
      if (this.end) return;
      this.endWith(reason);
      // Too slow: what is queued cannot be sent in time; the viewer replays it from the store.
      if (reason === "overflow") {
        this.queue = [];
        this.buffer = [];
        this.backlog = [];
        this.backlogAt = 0;
      }
      this.settle();
      this.wake();
    }

    take(): Promise<LiveBatch> {
      if (this.waiter) return Promise.reject(new Error("take() is already waiting"));
      const ready = this.nextBatch();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve) => {
        this.waiter = resolve;
        this.waitingSince = Date.now();
      });
    }

    /** Called by the sweep: a keep-alive is due, or the lifetime is over. */
    tick(now: number): void {
      if (now >= this.deadline && !this.end) return this.finish("lifetime");
      if (this.waiter && now - this.waitingSince >= options.idleMs) {
        const resolve = this.waiter;
        this.waiter = null;
        resolve({ entries: [], end: null });
      }
    }

    close(): void {
      if (this.left) return;
      this.left = true;
      this.finish("closed");
      this.topic.leave(this);
    }

    private nextBatch(): LiveBatch | null {
      if (this.backlogAt < this.backlog.length) {
        const entries = this.backlog.slice(this.backlogAt, this.backlogAt + TAKE_BATCH);
        this.backlogAt += entries.length;
        return { entries, end: null };
      }
      if (this.queue.length > 0) {
        const entries = this.queue;
        this.queue = [];
        return { entries, end: null };
      }
      return this.end ? { entries: [], end: this.end } : null;
    }

    wake(): void {
      if (!this.waiter) return;
      const ready = this.nextBatch();
      if (!ready) return;
      const resolve = this.waiter;
      this.waiter = null;
      resolve(ready);
    }
  }

  // --- topics ------------------------------------------------------------------------------

  class Topic {
    readonly key: string;
    readonly subscribers = new Set<Subscriber>();
    started: Promise<boolean>;
    ended = false;
    failed = false;
    /** Highest seq handed to subscribers (or known to be in the store when we started). */
    delivered = 0;
    /** Position in the Redis stream (the last id read). */
    readId = "0-0";
    private chain: Promise<void> = Promise.resolve();
    private joiners: Subscriber[] = [];
    private catchingUp = false;
    private pollTimer: NodeJS.Timeout | null = null;
    private polling = false;
    private flushTimer: NodeJS.Timeout | null = null;
    private lastFlush = 0;
    /** lastSeq of the previous head read: entries in the store a whole period but not yet here. */
    private polledSeq = 0;

    constructor(readonly id: string) {
      this.key = options.keyOf(id);
      this.started = this.start();
    }

    private async start(): Promise<boolean> {
      const head = await options.source.head(this.id);
      if (!head) return false;
      if (topics.get(this.id) !== this) return true; // everyone left while we asked
      this.delivered = head.lastSeq;
      this.polledSeq = head.lastSeq;
      this.readId = `${head.lastSeq}-0`;
      this.ended = head.ended;
      if (!this.ended) {
        reader.add(this);
        this.pollTimer = setInterval(() => void this.poll(), options.statusPollMs);
        this.pollTimer.unref();
      }
      return true;
    }

    join(sub: Subscriber): void {
      this.joiners.push(sub);
      if (!this.catchingUp) void this.catchUp();
    }

    /** One store read per batch of joiners; joiners who arrive during a read wait for the next. */
    private async catchUp(): Promise<void> {
      this.catchingUp = true;
      try {
        while (this.joiners.length > 0) {
          const batch = this.joiners.splice(0).filter((s) => !s.end);
          if (batch.length === 0) continue;
          const from = Math.min(...batch.map((s) => s.last));
          let entries: LiveEntry[];
          try {
            entries = await options.source.read(this.id, from);
          } catch (e) {
            for (const s of batch) s.catchUpFailed(e);
            continue;
          }
          for (const s of batch) s.caughtUp(entries);
        }
      } finally {
        this.catchingUp = false;
      }
    }

    /** Entries read from Redis for this topic (the reader calls this in stream order). */
    accept(entries: LiveEntry[]): void {
      this.then(async () => {
        for (const entry of entries) {
          if (this.ended) return;
          if (entry.seq <= this.delivered) continue;
          if (entry.seq > this.delivered + 1) await this.fill(entry.seq - 1);
          this.emit(entry);
        }
      });
    }

    /** Entries the store has between what we delivered and `upToSeq` (or all, and the end). */
    private async fill(upToSeq?: number): Promise<void> {
      for (const entry of await options.source.read(this.id, this.delivered, upToSeq)) this.emit(entry);
    }

    private emit(entry: LiveEntry): void {
      if (this.ended || entry.seq <= this.delivered) return;
      this.delivered = entry.seq;
      for (const s of this.subscribers) s.offer(entry);
      if (options.isTerminal(entry)) this.stop(true);
    }

    private async poll(): Promise<void> {
      if (this.polling || this.ended || this.failed) return;
      this.polling = true;
      try {
        const head = await options.source.head(this.id);
        if (!head) return this.abandon("gone");
        const stale = this.polledSeq > this.delivered;
        this.polledSeq = head.lastSeq;
        // Ended (its terminal entry, or one rebuilt by the store, comes with the read), or
        // entries that were in the store a whole period ago and never came through Redis.
        if (head.ended || (stale && head.lastSeq > this.delivered)) this.then(() => this.fill());
      } catch (e) {
        report(e, "status poll", this.id);
      } finally {
        this.polling = false;
      }
    }

    /** Runs deliveries one after another; a failed one ends the topic (viewers reconnect). */
    private then(work: () => Promise<void>): void {
      this.chain = this.chain.then(async () => {
        await work();
        this.flush();
      }).catch((e: unknown) => {
        report(e, "gap fill", this.id);
        this.abandon("error");
      });
    }

    /**
     * Wakes the subscribers that have entries waiting: at once, or, when this process has many
     * viewers, no sooner than ROUND_COST_PER_VIEWER_MS × viewers after the previous round. A
     * round costs a write per viewer, whatever the number of entries in it; pacing the rounds
     * lets entries that arrive meanwhile go out in the same write, so the CPU a busy topic takes
     * stays bounded (~ cost per write ÷ budget per viewer) instead of growing with the event
     * rate, and the delay it adds stays below a second at 5,000 viewers.
     */
    private flush(): void {
      if (this.flushTimer) return;
      const wait = this.lastFlush + subscriberCount * ROUND_COST_PER_VIEWER_MS - performance.now();
      if (wait <= 0) return this.flushNow();
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flushNow();
      }, wait);
      this.flushTimer.unref();
    }

    private flushNow(): void {
      this.lastFlush = performance.now();
      for (const s of this.subscribers) s.wake();
    }

    /** Ends every subscriber; viewers who come later start a new topic. */
    private abandon(reason: LiveEnd): void {
      this.failed = true;
      for (const s of this.subscribers) s.finish(reason);
      this.stop(false);
      if (topics.get(this.id) === this) topics.delete(this.id);
    }

    private stop(ended: boolean): void {
      if (ended) this.ended = true;
      reader.remove(this);
      if (this.pollTimer) clearInterval(this.pollTimer);
      this.pollTimer = null;
    }

    leave(sub: Subscriber): void {
      if (!this.subscribers.delete(sub)) return;
      subscriberCount--;
      if (this.subscribers.size === 0) {
        this.stop(false);
        if (topics.get(this.id) === this) topics.delete(this.id);
      }
    }
  }

  // --- the reader --------------------------------------------------------------------------

  const reader = new (class Reader {
    connection: RedisClient | null = null;
    private readonly live = new Map<string, Topic>();
    private clientId: number | null = null;
    /** A key of the read in flight: CLIENT UNBLOCK must reach the node that serves it (a cluster's). */
    private readKey: string | null = null;
    /** Grows with every key added; the read in flight carries the version it was issued with. */
    private version = 0;
    private inFlight: number | null = null;
    private idle: (() => void) | null = null;
    private unblocking = false;
    private unblockAgain = false;
    private running: Promise<void> | null = null;

    add(topic: Topic): void {
      this.live.set(topic.key, topic);
      this.version++;
      this.running ??= this.loop();
      if (this.idle) {
        const resolve = this.idle;
        this.idle = null;
        resolve();
      } else {
        void this.unblock();
      }
    }

    remove(topic: Topic): void {
      // The read in flight may still carry the key; its entries are then ignored.
      if (this.live.get(topic.key) === topic) this.live.delete(topic.key);
    }

    get size(): number {
      return this.live.size;
    }

    private async loop(): Promise<void> {
      const connection = duplicateRedis(options.redis, {
        connectionName: options.readerName,
        maxRetriesPerRequest: null,
        // A read whose reply never comes (a frozen Redis, a dead socket) returns empty anyway.
        blockingTimeout: blockMs + BLOCK_GRACE_MS,
        blockingTimeoutGrace: BLOCK_GRACE_MS,
        // Time limits of the request path's connection would cut every blocked read short.
        commandTimeout: undefined,
        socketTimeout: undefined,
        lazyConnect: false,
      });
      connection.on("error", () => {});
      connection.on("close", () => {
        this.clientId = null;
      });
      this.connection = connection;
      while (!closed) {
        if (this.live.size === 0) {
          await new Promise<void>((resolve) => (this.idle = resolve));
          continue;
        }
        try {
          const keys = [...this.live.keys()];
          this.readKey = keys[0]!;
          if (this.clientId === null) this.clientId = Number(await (await nodeOf(connection, this.readKey)).client("ID"));
          const positions = keys.map((k) => this.live.get(k)!.readId);
          this.inFlight = this.version;
          const reply = (await connection.xread("COUNT", READ_COUNT, "BLOCK", blockMs, "STREAMS", ...keys, ...positions)) as
            | [string, [string, string[]][]][]
            | null;
          this.inFlight = null;
          for (const [key, items] of reply ?? []) {
            const topic = this.live.get(key);
            if (!topic || items.length === 0) continue;
            topic.readId = items[items.length - 1]![0];
            topic.accept(liveEntriesOf(items));
          }
        } catch (e) {
          this.inFlight = null;
          // On a cluster the slot may have moved to another node, where our id is another.
          this.clientId = null;
          if (closed) break;
          report(e, "stream read");
          await new Promise((r) => setTimeout(r, READ_ERROR_BACKOFF_MS));
        }
      }
      connection.disconnect();
    }

    /** Makes the blocked read return now, so that it is re-issued with the new keys. */
    private async unblock(): Promise<void> {
      if (this.unblocking) {
        this.unblockAgain = true;
        return;
      }
      this.unblocking = true;
      try {
        for (let i = 0; i < UNBLOCK_TRIES; i++) {
          // Nothing in flight, or it already has every key: the next read will.
          if (this.inFlight === null || this.inFlight >= this.version || this.clientId === null || this.readKey === null) return;
          const id = this.clientId;
          const unblocked = await nodeOf(options.redis, this.readKey)
            .then((node) => node.call("CLIENT", "UNBLOCK", id))
            .catch(() => 0);
          if (unblocked === 1) return;
          // 0: our read had not reached Redis yet (or just returned); try again shortly.
          await new Promise((r) => setTimeout(r, UNBLOCK_RETRY_MS));
        }
        // Never unblocked: our connection may have been re-made (a new id); ask again next read.
        if (this.inFlight !== null && this.inFlight < this.version) this.clientId = null;
      } finally {
        this.unblocking = false;
        if (this.unblockAgain) {
          this.unblockAgain = false;
          void this.unblock();
        }
      }
    }

    async close(): Promise<void> {
      this.idle?.();
      this.connection?.disconnect();
      await this.running?.catch(() => {});
    }
  })();

  // --- keep-alives and lifetimes: one sweep for everyone ---------------------------------------

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const topic of topics.values()) for (const s of topic.subscribers) s.tick(now);
  }, options.tickMs ?? SWEEP_TICK_MS);
  sweep.unref();

  return {
    async subscribe(topicId, subscribeOptions) {
      if (closed) throw new Error("the live fan-out is closed");
      let topic = topics.get(topicId);
      if (!topic) {
        topic = new Topic(topicId);
        topics.set(topicId, topic);
      }
      const sub = new Subscriber(topic, subscribeOptions.afterSeq, subscribeOptions.deadline ?? Number.POSITIVE_INFINITY);
      topic.subscribers.add(sub);
      subscriberCount++;
      let exists: boolean;
      try {
        exists = await topic.started;
      } catch (e) {
        sub.close();
        if (topics.get(topicId) === topic) topics.delete(topicId);
        throw e;
      }
      if (!exists || topic.failed) {
        sub.close();
        if (topics.get(topicId) === topic) topics.delete(topicId);
        if (!exists) return null;
        throw new Error("the topic failed while starting");
      }
      topic.join(sub);
      try {
        await sub.ready;
      } catch (e) {
        sub.close();
        throw e;
      }
      sub.complete = sub.end === "closed" && !sub.pending;
      return sub;
    },

    stats() {
      let live = 0;
      for (const t of topics.values()) if (!t.ended && !t.failed) live++;
      return { topics: topics.size, liveTopics: live, subscribers: subscriberCount, readers: reader.connection && !closed ? 1 : 0 };
    },

    async close() {
      closed = true;
      clearInterval(sweep);
      for (const topic of [...topics.values()]) for (const s of [...topic.subscribers]) s.finish("closed");
      await reader.close();
    },
  };
}

/** The connection (on a cluster: the node's) that serves `key`. */
async function nodeOf(redis: RedisClient, key: string) {
  const node = await nodeOfKey(redis, key);
  if (!node) throw new Error("the Redis Cluster does not know which node serves the live streams yet");
  return node;
}

/**
 * Stream entries with their event type read once here (not once per viewer). An entry that is
 * not an event object is left out: the topic then sees a gap and reads it from the store.
 */
function liveEntriesOf(items: [string, string[]][]): LiveEntry[] {
  const entries: LiveEntry[] = [];
  for (const { seq, data } of entriesOf(items)) {
    let type: unknown;
    try {
      type = (JSON.parse(data) as { type?: unknown } | null)?.type;
    } catch {
      continue;
    }
    if (typeof type === "string") entries.push({ seq, type, data });
  }
  return entries;
}

/** Index of the first entry with seq > `seq` (entries ascending). */
function firstAfter(entries: LiveEntry[], seq: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
