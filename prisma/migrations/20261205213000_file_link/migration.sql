-- Files copied between work orders and records (issue 15): one row per file and direction, claimed
-- before the upload and completed after it. A claim without a target is an upload that may have
-- happened (a crash between upload and completion): the writer looks for the copy before uploading.
CREATE TABLE "file_link" (
    "id" BIGSERIAL NOT NULL,
    "connection_id" TEXT NOT NULL,
    "direction" TEXT NOT NULL,
    "source_id" TEXT NOT NULL,
    "target_id" TEXT,
    "sf_id" CHAR(18) NOT NULL,
    "work_order_id" INTEGER NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'claimed',
    "file_name" TEXT,
    "size_bytes" BIGINT,
    "reason" TEXT,
    "claimed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "file_link_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "file_link_connection_id_direction_source_id_key" ON "file_link"("connection_id", "direction", "source_id");

-- Echo checks: is this attachment or ContentVersion a copy the broker made?
CREATE INDEX "file_link_connection_id_target_id_idx" ON "file_link"("connection_id", "target_id");
