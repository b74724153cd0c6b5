/**
 * `npm start`: the whole service with one command.
 * PostgreSQL and Redis found or started (scripts/prepare-services.ts) → migrations applied →
 * the web app built if needed → web server and one worker started → URL printed. Ctrl-C stops
 * the children, then what was started here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { localSecrets, prepareServices, ROOT, say, stopChild } from "./prepare-services";
import { generatePrismaClient, migrateDeploy } from "./run-prisma";
import { buildWebIfNeeded } from "./build-web";

async function main(): Promise<void> {
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  const services = await prepareServices();
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping…");
    await Promise.all(children.map((c) => stopChild(c)));
    await services.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  try {
    generatePrismaClient();
    say("applying database migrations…");
    migrateDeploy(services.databaseUrl);
    buildWebIfNeeded();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    await stopAll(1);
    return;
  }

  const host = process.env.HOST || "127.0.0.1";
  const port = process.env.PORT || "3000";
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    HOST: host,
    PORT: port,
    IP_HASH_SECRET: process.env.IP_HASH_SECRET || localSecrets().ipHashSecret,
  };
  const start = (name: string, command: string, args: string[]) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: "inherit" });
    child.on("exit", (code, signal) => {
      if (stopping) return;
      say(`${name} exited (${signal ?? code}); stopping everything`);
      void stopAll(code || 1);
    });
    children.push(child);
  };
  start("web", process.execPath, [path.join(ROOT, "scripts", "serve-web.mjs")]);
  start("worker", process.execPath, ["--import", "tsx", path.join(ROOT, "worker", "main.ts")]);
  const shownHost = host === "0.0.0.0" || host === "::" ? "localhost" : host;
  say(`relaycheck is starting on http://${shownHost}:${port}  (Ctrl-C to stop)`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
