/**
 * GET /api/health → 200 when PostgreSQL and Redis both answer, 503 otherwise, with each
 * dependency's state. Not rate-limited (monitors poll it) and reveals nothing about the inside.
 */
import { getCheckServices } from "@/lib/checks";
import { json } from "@/app/api/_lib/respond";
import { logger } from "@/lib/logger";

const PROBE_TIMEOUT_MS = 3000;

type State = "ok" | "down";

async function probe(name: string, check: () => Promise<unknown>): Promise<State> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} did not answer in ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      }),
    ]);
    return "ok";
  } catch (err) {
    logger.warn({ err, dependency: name }, "health check failed");
    return "down";
  } finally {
    clearTimeout(timer);
  }
}

export async function GET(): Promise<Response> {
  let services;
  try {
    services = getCheckServices();
  } catch (err) {
    logger.error({ err }, "health: services unavailable");
    return json({ status: "down", checks: { database: "down", redis: "down" } }, 503);
  }
  const { db, redis } = services;
  const [database, redisState] = await Promise.all([
    probe("database", () => db.$queryRaw`SELECT 1`),
    probe("redis", () => redis.ping()),
  ]);
  const ok = database === "ok" && redisState === "ok";
  return json({ status: ok ? "ok" : "down", checks: { database, redis: redisState } }, ok ? 200 : 503);
}
