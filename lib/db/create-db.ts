/**
 * The Prisma client over node-postgres (Prisma 7: a driver adapter is required). One client per
 * process: the caller keeps it (see lib/checks/services.ts) and disconnects it on shutdown.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";

export type Db = PrismaClient;
export type { Prisma } from "@/lib/generated/prisma/client";

export interface DbOptions {
  url: string;
  /** Pool size (node-postgres `max`). */
  maxConnections?: number;
  /** How long to wait for a connection before failing (health checks rely on it). */
  connectTimeoutMs?: number;
  /**
   * How long an interactive transaction waits for a connection of the pool before it fails
   * (Prisma's default: 2 s). A worker running many checks at once queues its writes for a while
   * when they all start or end together; they should wait, not fail.
   */
  transactionMaxWaitMs?: number;
}

export function createDb(options: DbOptions): Db {
  const adapter = new PrismaPg({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
  });
  return new PrismaClient({ adapter, ...(options.transactionMaxWaitMs ? { transactionOptions: { maxWait: options.transactionMaxWaitMs } } : {}) });
}
