/**
 * `npm run apikey -- <command>`: API keys for monitoring users, without a UI.
 *
 *   create <name> [--points <n>] [--reads-per-minute <n>]   makes a key and prints it (only once)
 *   revoke <id>                                             refuses the key from now on
 *   list                                                    id, name, created, last used, revoked
 *
 * The database is DATABASE_URL, or the embedded PostgreSQL of `npm start` (.data/postgres).
 * Only the SHA-256 of a key is stored: a lost key cannot be shown again; revoke it and make another.
 */
import { parseArgs } from "node:util";
import { createDb, type Db } from "@/lib/db/create-db";
import { createApiKey, listApiKeys, revokeApiKey } from "@/lib/api-keys";
import { prepareServices, type Services } from "./prepare-services";

const USAGE = `usage: npm run apikey -- create <name> [--points <n>] [--reads-per-minute <n>]
       npm run apikey -- revoke <id>
       npm run apikey -- list`;

function positiveInt(value: string | undefined, flag: string): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new UsageError(`${flag} takes a whole number from 1 to 1000000`);
  return n;
}

class UsageError extends Error {}

async function run(db: Db, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { points: { type: "string" }, "reads-per-minute": { type: "string" } },
  });
  const [command, arg, ...extra] = positionals;
  if (extra.length) throw new UsageError(`unexpected argument: ${extra[0]}`);
  switch (command) {
    case "create": {
      if (!arg) throw new UsageError("create needs a name");
      const { key, record } = await createApiKey(db, arg, {
        checkPoints: positiveInt(values.points, "--points"),
        readsPerMinute: positiveInt(values["reads-per-minute"], "--reads-per-minute"),
      });
      console.log(`created API key ${record.id} for "${record.name}"`);
      console.log(`\n  ${key}\n`);
      console.log("This is the only time the key is shown: only its hash is stored.");
      console.log("Use it as: Authorization: Bearer <key>");
      return 0;
    }
    case "revoke": {
      if (!arg) throw new UsageError("revoke needs the key's id (see `list`)");
      if (!(await revokeApiKey(db, arg))) {
        console.error(`no API key with id ${arg}`);
        return 1;
      }
      console.log(`API key ${arg} is revoked`);
      return 0;
    }
    case "list": {
      const keys = await listApiKeys(db);
      if (!keys.length) console.log("no API keys");
      for (const k of keys) {
        const limits = [k.checkPoints ? `points=${k.checkPoints}` : null, k.readsPerMinute ? `reads/min=${k.readsPerMinute}` : null].filter(Boolean).join(" ");
        const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active";
        const used = k.lastUsedAt ? k.lastUsedAt.toISOString() : "never";
        console.log(`${k.id}  ${state}  created ${k.createdAt.toISOString()}  last used ${used}  ${limits}  ${k.name}`.replace(/ {3,}/g, "  "));
      }
      return 0;
    }
    default:
      throw new UsageError(command ? `unknown command: ${command}` : "no command");
  }
}

async function main(): Promise<number> {
  let services: Services | null = null;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    services = await prepareServices({ quiet: true });
    databaseUrl = services.databaseUrl;
  }
  const db = createDb({ url: databaseUrl, maxConnections: 1 });
  try {
    return await run(db, process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === "TypeError" && "code" in e)) {
      console.error(`${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof Error && /api_keys.*does not exist|P2021/.test(String((e as { code?: string }).code) + e.message)) {
      console.error("The api_keys table does not exist yet: apply the migrations first (npm start does, or `npm run prisma -- migrate deploy`).");
      return 1;
    }
    throw e;
  } finally {
    await db.$disconnect().catch(() => {});
    await services?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
