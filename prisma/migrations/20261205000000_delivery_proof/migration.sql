-- Proof by delivery (issue 12): the check's request, and the sink's single-use tokens.
ALTER TABLE "checks" ADD COLUMN "prove_delivery" BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE "delivery_tokens" (
    "id" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "check_id" TEXT NOT NULL,
    "server_key" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "used_at" TIMESTAMP(3),
    "arrival" JSONB,

    CONSTRAINT "delivery_tokens_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "delivery_tokens_token_hash_key" ON "delivery_tokens"("token_hash");
CREATE UNIQUE INDEX "delivery_tokens_check_id_server_key_key" ON "delivery_tokens"("check_id", "server_key");
CREATE INDEX "delivery_tokens_target_created_at_idx" ON "delivery_tokens"("target", "created_at");

ALTER TABLE "delivery_tokens" ADD CONSTRAINT "delivery_tokens_check_id_fkey" FOREIGN KEY ("check_id") REFERENCES "checks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
