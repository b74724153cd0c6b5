-- Monitoring (issue 14): monitors of API key holders, the checks they started (settled once each),
-- and the delivery log of their alerts.
-- CreateTable
CREATE TABLE "monitors" (
    "id" TEXT NOT NULL,
    "api_key_id" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "input" TEXT NOT NULL,
    "ports" INTEGER[],
    "interval_seconds" INTEGER NOT NULL,
    "offset_ms" INTEGER NOT NULL,
    "webhook_url" TEXT,
    "webhook_secret" TEXT NOT NULL,
    "email" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_check_id" TEXT,
    "last_verdict" TEXT,
    "last_checked_at" TIMESTAMP(3),
    "last_changed_at" TIMESTAMP(3),
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "backoff_until" TIMESTAMP(3),
    "last_error" TEXT,

    CONSTRAINT "monitors_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "monitor_runs" (
    "monitor_id" TEXT NOT NULL,
    "check_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "settled_at" TIMESTAMP(3),
    "verdict" TEXT,
    "changed" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "monitor_runs_pkey" PRIMARY KEY ("monitor_id","check_id")
);

-- CreateTable
CREATE TABLE "alert_deliveries" (
    "id" TEXT NOT NULL,
    "monitor_id" TEXT NOT NULL,
    "check_id" TEXT,
    "kind" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "destination" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "attempt_log" JSONB NOT NULL DEFAULT '[]',
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "alert_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "monitors_api_key_id_created_at_idx" ON "monitors"("api_key_id", "created_at");

-- CreateIndex
CREATE INDEX "monitor_runs_check_id_idx" ON "monitor_runs"("check_id");

-- CreateIndex
CREATE INDEX "monitor_runs_monitor_id_created_at_idx" ON "monitor_runs"("monitor_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "alert_deliveries_monitor_id_created_at_idx" ON "alert_deliveries"("monitor_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "alert_deliveries_status_created_at_idx" ON "alert_deliveries"("status", "created_at");

-- AddForeignKey
ALTER TABLE "monitors" ADD CONSTRAINT "monitors_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "monitor_runs" ADD CONSTRAINT "monitor_runs_monitor_id_fkey" FOREIGN KEY ("monitor_id") REFERENCES "monitors"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "monitor_runs" ADD CONSTRAINT "monitor_runs_check_id_fkey" FOREIGN KEY ("check_id") REFERENCES "checks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert_deliveries" ADD CONSTRAINT "alert_deliveries_monitor_id_fkey" FOREIGN KEY ("monitor_id") REFERENCES "monitors"("id") ON DELETE CASCADE ON UPDATE CASCADE;

