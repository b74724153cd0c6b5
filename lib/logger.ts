/**
 * One structured logger (pino, JSON lines). Modules take a child with their context:
 * `logger.child({ checkId })` so every line about a check carries its id.
 */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? "relaycheck",
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Never log secrets that may sit in connection strings.
    redact: { paths: ["databaseUrl", "redisUrl", "*.password"], censor: "[redacted]" },
  });
}

export const logger: Logger = createLogger();
