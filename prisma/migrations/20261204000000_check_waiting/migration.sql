-- A check between runs (status "waiting"): why and until when (CheckWait, lib/checks/types.ts).
ALTER TABLE "checks" ADD COLUMN "waiting" JSONB;
