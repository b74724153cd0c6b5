/**
 * The BullMQ queue of checks. The job id is the check id, so a check is enqueued at most once.
 * A check that fails for infrastructure reasons (database, Redis) is retried once; a failing
 * target is a result, not a failure.
 */
import { Queue } from "bullmq";
import type { RedisClient } from "@/lib/queue/create-redis";
import { runCheckJob, type RunCheckPayload } from "./jobs";

export interface QueueNames {
  /** BullMQ key prefix (REDIS_PREFIX). */
  prefix: string;
  /** Queue name (QUEUE_NAME). */
  name: string;
}

export type CheckQueue = Queue;

export function createCheckQueue(connection: RedisClient, names: QueueNames): CheckQueue {
  const queue = new Queue(names.name, {
    connection,
    prefix: names.prefix,
    defaultJobOptions: {
      attempts: 2,
      backoff: { type: "exponential", delay: 2000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    },
  });
  // Connection errors come back on the commands (and the Redis connection logs its outage once);
  // without a listener the queue would print every failed reconnect.
  queue.on("error", () => {});
  return queue;
}

export async function enqueueCheck(queue: CheckQueue, payload: RunCheckPayload): Promise<void> {
  const data = runCheckJob.payload.parse(payload);
  await queue.add(runCheckJob.name, data, { jobId: data.checkId });
}
