/** What every fake server hands to a test. */

export interface FakeSessionLog {
  /** From 1, in accept order. */
  id: number;
  remoteAddress: string;
  remotePort: number;
  /** Every command line the client sent, as received (CR/LF stripped). */
  commands: string[];
  /** The first line of every reply sent, in order. */
  replies: string[];
  /** Replies with a 4xx/5xx code. */
  errors: number;
  tls: boolean;
  /** Did the session end by QUIT, by the client going away, or by the server hanging up? */
  end: "quit" | "client" | "server" | null;
}

export interface FakeLog {
  /** Connections accepted, refused ones (421 at connect) included. */
  connections: number;
  /** Most connections open at the same time. */
  maxConcurrent: number;
  sessions: FakeSessionLog[];
  /** Every command line received by any session, in order. */
  commands: { session: number; line: string }[];
  /** DATA (or BDAT) commands received: a probe must never send one. */
  dataAttempts: number;
  /** Replies held back by a tarpit (each one means the client made the server slow down). */
  tarpitted: number;
  /** Connections answered with 421 because of the per-client connection cap. */
  refusedConnections: number;
  /**
   * Most sessions open at the same time, from accept to QUIT or hang-up (unlike
   * `maxConcurrent`, not counting a socket whose session ended but whose close is still on the
   * way). Kept by the scripted fake (without `slotReleaseDelayMs`).
   */
  maxSessionsAtOnce?: number;
}

export interface FakeServer {
  host: string;
  port: number;
  log: FakeLog;
  /** Resolves once no connection is open (the client went away and the server freed it). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function emptyLog(): FakeLog {
  return { connections: 0, maxConcurrent: 0, sessions: [], commands: [], dataAttempts: 0, tarpitted: 0, refusedConnections: 0 };
}

/** Tracks open sockets for `idle()`, `maxConcurrent` and `close()`. */
export class ConnectionTracker<S extends { destroy(): void }> {
  readonly open = new Set<S>();
  private waiters: (() => void)[] = [];

  constructor(private readonly log: FakeLog) {}

  add(socket: S): void {
    this.open.add(socket);
    this.log.connections++;
    this.log.maxConcurrent = Math.max(this.log.maxConcurrent, this.open.size);
  }

  remove(socket: S): void {
    if (!this.open.delete(socket)) return;
    if (this.open.size === 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  idle(): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  destroyAll(): void {
    for (const s of this.open) s.destroy();
  }
}
