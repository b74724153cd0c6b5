/**
 * Proof-of-delivery tokens (issue 12), in PostgreSQL: the worker makes one per server it sends a
 * proof message through; the sink accepts a message only for a live one (not expired, not used)
 * and uses it up with the message. The token itself appears only in the message's recipient
 * address; the table keeps its SHA-256.
 *
 * Caps, checked when a token is made: one per server per check (a unique key), and at most
 * `perTargetPerDay` per target and server in 24 hours.
 */
import { createHash, randomUUID } from "node:crypto";
import { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/create-db";
import type { DeliveryArrival } from "@/lib/probe/types";

import { newToken, TOKEN_PATTERN } from "./proof-plan";

export { TOKEN_PATTERN, tokenOfRecipient } from "./proof-plan";
const DAY_MS = 24 * 60 * 60_000;

export const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex");

export type MadeToken = { made: true; token: string } | { made: false; reason: string };

export async function makeDeliveryToken(
  db: Db,
  o: { checkId: string; serverKey: string; target: string; ttlMs: number; perTargetPerDay: number; now?: Date },
): Promise<MadeToken> {
  const now = o.now ?? new Date();
  const lockKey = `delivery-proof:${o.target}:${o.serverKey}`;
  return db.$transaction(async (tx) => {
    // One at a time per target and server, so two checks at once cannot both pass the cap.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`;
    const sent = await tx.deliveryToken.count({ where: { target: o.target, serverKey: o.serverKey, createdAt: { gt: new Date(now.getTime() - DAY_MS) } } });
    if (sent >= o.perTargetPerDay) {
      return { made: false as const, reason: `A proof message went through this server for ${o.target} ${sent === 1 ? "once" : `${sent} times`} in the last 24 hours already (the limit).` };
    }
    const token = newToken();
    try {
      await tx.deliveryToken.create({
        data: { id: randomUUID(), tokenHash: hashToken(token), checkId: o.checkId, serverKey: o.serverKey, target: o.target, createdAt: now, expiresAt: new Date(now.getTime() + o.ttlMs) },
      });
    } catch (e) {
      if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002") return { made: false as const, reason: "A proof message went through this server for this check already." };
      throw e;
    }
    return { made: true as const, token };
  });
}

/** Is `token` live (exists, not expired, not used)? The sink asks at RCPT. */
export async function isLiveToken(db: Db, token: string, now = new Date()): Promise<boolean> {
  if (!TOKEN_PATTERN.test(token)) return false;
  const row = await db.deliveryToken.findUnique({ where: { tokenHash: hashToken(token) }, select: { expiresAt: true, usedAt: true } });
  return !!row && row.usedAt === null && row.expiresAt > now;
}

/**
 * Uses the token up with the message's arrival, once: returns its check and server, or null
 * when the token is unknown, expired or used (by a message that came first).
 */
export async function useToken(db: Db, token: string, arrival: DeliveryArrival, now = new Date()): Promise<{ checkId: string; serverKey: string } | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const rows = await db.$queryRaw<{ check_id: string; server_key: string }[]>`
    UPDATE delivery_tokens SET used_at = ${now}, arrival = ${JSON.stringify(arrival)}::jsonb
    WHERE token_hash = ${hashToken(token)} AND used_at IS NULL AND expires_at > ${now}
    RETURNING check_id, server_key`;
  const row = rows[0];
  return row ? { checkId: row.check_id, serverKey: row.server_key } : null;
}

/** The arrivals stored for a check, by server key. */
export async function arrivalsOf(db: Db, checkId: string): Promise<Map<string, DeliveryArrival>> {
  const rows = await db.deliveryToken.findMany({ where: { checkId, arrival: { not: Prisma.DbNull } }, select: { serverKey: true, arrival: true } });
  return new Map(rows.map((r) => [r.serverKey, r.arrival as unknown as DeliveryArrival]));
}

