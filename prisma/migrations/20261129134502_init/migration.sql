-- CreateTable
CREATE TABLE "checks" (
    "id" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "target_kind" TEXT NOT NULL,
    "input" TEXT NOT NULL,
    "target_unicode" TEXT,
    "target_stripped" TEXT,
    "ports" INTEGER[],
    "status" TEXT NOT NULL DEFAULT 'queued',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "schema_version" INTEGER NOT NULL,
    "verdict" TEXT,
    "reason" TEXT,
    "duration_ms" INTEGER,
    "probe_started_at" TEXT,
    "probe_finished_at" TEXT,
    "options" JSONB,
    "resolution" JSONB,
    "error_code" TEXT,
    "error_message" TEXT,
    "client_ip_hash" TEXT,
    "last_seq" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "checks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "check_servers" (
    "check_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "host" TEXT NOT NULL,
    "ip" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "status" TEXT,
    "verdict" TEXT,
    "reason" TEXT,
    "report" JSONB,
    "case_order" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "transcript" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "check_servers_pkey" PRIMARY KEY ("check_id","key")
);

-- CreateTable
CREATE TABLE "check_cases" (
    "check_id" TEXT NOT NULL,
    "server_key" TEXT NOT NULL,
    "case_id" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "evidence" BOOLEAN NOT NULL,
    "result" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "check_cases_pkey" PRIMARY KEY ("check_id","server_key","case_id")
);

-- CreateTable
CREATE TABLE "check_events" (
    "check_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "check_events_pkey" PRIMARY KEY ("check_id","seq")
);

-- CreateIndex
CREATE INDEX "checks_target_created_at_idx" ON "checks"("target", "created_at" DESC);

-- CreateIndex
CREATE INDEX "checks_status_created_at_idx" ON "checks"("status", "created_at");

-- CreateIndex
CREATE INDEX "checks_created_at_idx" ON "checks"("created_at");

-- AddForeignKey
ALTER TABLE "check_servers" ADD CONSTRAINT "check_servers_check_id_fkey" FOREIGN KEY ("check_id") REFERENCES "checks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "check_cases" ADD CONSTRAINT "check_cases_check_id_fkey" FOREIGN KEY ("check_id") REFERENCES "checks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "check_events" ADD CONSTRAINT "check_events_check_id_fkey" FOREIGN KEY ("check_id") REFERENCES "checks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
