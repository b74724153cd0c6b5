-- Check lifecycle in PostgreSQL: a deadline per check and the number of runs started.
ALTER TABLE "checks" ADD COLUMN "deadline_at" TIMESTAMP(3),
ADD COLUMN "attempt" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "heartbeat_at" TIMESTAMP(3);

-- Checks that were left queued or running before this migration get a deadline now, so the
-- reconciler ends them instead of leaving them stuck.
UPDATE "checks" SET "deadline_at" = CURRENT_TIMESTAMP + INTERVAL '10 minutes' WHERE "status" IN ('queued', 'running');

-- CreateIndex
CREATE INDEX "checks_status_deadline_at_idx" ON "checks"("status", "deadline_at");
