/**
 * The `purge-expired` job (every few minutes): privacy and retention.
 * - Client IP hashes are kept only as long as the per-client rate limit can need them.
 * - Transcripts and event logs of checks older than RETENTION_DAYS are deleted; the verdicts,
 *   cases and server facts stay, so old permalinks still show a report.
 */
import { Prisma } from "@/lib/generated/prisma/client";
import type { CheckServices } from "@/lib/checks/services";

export interface PurgeSettings {
  clientWindowSeconds: number;
  retentionDays: number;
}

export function createPurgeExpiredHandler(services: Pick<CheckServices, "db" | "log">, settings: PurgeSettings) {
  return async function handlePurgeExpired(): Promise<void> {
    const { db } = services;
    const now = Date.now();
    const ipCutoff = new Date(now - settings.clientWindowSeconds * 1000);
    const hashes = await db.check.updateMany({ where: { clientIpHash: { not: null }, createdAt: { lt: ipCutoff } }, data: { clientIpHash: null } });
    let transcripts = 0;
    let events = 0;
    if (settings.retentionDays > 0) {
      const cutoff = new Date(now - settings.retentionDays * 86_400_000);
      const old = { check: { createdAt: { lt: cutoff } } };
      events = (await db.checkEvent.deleteMany({ where: old })).count;
      transcripts = (await db.checkServer.updateMany({ where: { ...old, transcript: { not: Prisma.AnyNull } }, data: { transcript: Prisma.DbNull } })).count;
    }
    services.log.info({ ipHashesCleared: hashes.count, events, transcripts }, "purged expired data");
  };
}
