/**
 * What every service benchmark does first, like `npm test`: PostgreSQL and Redis found or
 * started, a database of the benchmark's own (recreated and migrated), the Prisma client and the
 * web build, and the variables tests/support/service.ts reads to start the service on them.
 */
import { ensureDatabase, prepareServices, type Services } from "@/scripts/prepare-services";
import { generatePrismaClient, migrateDeploy } from "@/scripts/run-prisma";
import { buildWebIfNeeded } from "@/scripts/build-web";

/** Returns the prepared services (stop them at the end) and the benchmark database's URL. */
export async function prepareBench(database: string): Promise<Services & { benchDatabaseUrl: string }> {
  const services = await prepareServices({ quiet: true });
  const url = new URL(services.databaseUrl);
  url.pathname = `/${database}`;
  await ensureDatabase(url.toString(), { recreate: true });
  migrateDeploy(url.toString());
  generatePrismaClient();
  buildWebIfNeeded();
  process.env.RELAYCHECK_TEST_DATABASE_URL = url.toString();
  process.env.RELAYCHECK_TEST_REDIS_URL = services.redisUrl;
  return { ...services, benchDatabaseUrl: url.toString() };
}
