-- Compact storage of a check's events (issue 10): one row per written batch instead of one row
-- per event. `data` is the JSON array of the batch's events (numbered seq .. last_seq), kept as
-- text and compressed inline (STORAGE MAIN, toast_tuple_target 128): events of a batch repeat
-- themselves a lot (server keys, commands, reply texts), one row each cost far more than its data.
-- Existing events are converted: each run of consecutive numbers of a check becomes one row.

ALTER TABLE "check_events" RENAME TO "check_events_v1";
ALTER TABLE "check_events_v1" RENAME CONSTRAINT "check_events_pkey" TO "check_events_v1_pkey";
ALTER TABLE "check_events_v1" RENAME CONSTRAINT "check_events_check_id_fkey" TO "check_events_v1_check_id_fkey";

CREATE TABLE "check_events" (
    "check_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "last_seq" INTEGER NOT NULL,
    "data" TEXT NOT NULL,
    CONSTRAINT "check_events_pkey" PRIMARY KEY ("check_id","seq")
);
ALTER TABLE "check_events" ADD CONSTRAINT "check_events_check_id_fkey" FOREIGN KEY ("check_id") REFERENCES "checks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "check_events" ALTER COLUMN "data" SET STORAGE MAIN;
ALTER TABLE "check_events" SET (toast_tuple_target = 128);

INSERT INTO "check_events" ("check_id", "seq", "last_seq", "data")
SELECT "check_id", min("seq"), max("seq"), json_agg("data" ORDER BY "seq")::text
FROM (SELECT "check_id", "seq", "data", "seq" - row_number() OVER (PARTITION BY "check_id" ORDER BY "seq") AS "run" FROM "check_events_v1") AS numbered
GROUP BY "check_id", "run";

DROP TABLE "check_events_v1";

-- A server's cases are stored once, with its report, at server-done: a JSON array in report
-- order (25 rows of ~600 bytes each, none compressible alone, become one compressed value).
-- Until then the case-result events hold them. check_cases keeps the cases of checks stored
-- before this migration (read where check_servers.cases is null), new checks write no rows there.
ALTER TABLE "check_servers" ADD COLUMN "cases" TEXT;
ALTER TABLE "check_servers" ALTER COLUMN "cases" SET STORAGE MAIN;
ALTER TABLE "check_servers" ALTER COLUMN "report" SET STORAGE MAIN;
-- The report rows' JSON is compressed inline too (a server report is a few hundred bytes to a
-- few KB: below PostgreSQL's default 2 KB threshold it would be kept raw).
ALTER TABLE "check_servers" SET (toast_tuple_target = 128);
