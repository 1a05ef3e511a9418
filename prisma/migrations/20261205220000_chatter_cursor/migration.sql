-- Where each connection's Chatter sweep is (docs/operations.md, "Chatter messages"): the posts and
-- replies created before `watermark` have been read. A sweep reads [window_from, window_until], and one
-- stopped by its API-call budget keeps its window and where it stopped (record ids up to
-- after_parent_id done, and in the next record chunk the phase and the last row read, by CreatedDate and Id), so the next
-- sweep resumes it and nothing is read for nothing or skipped across restarts.
CREATE TABLE "chatter_cursor" (
    "connection_id" TEXT NOT NULL,
    "watermark" TIMESTAMPTZ(3) NOT NULL,
    "window_from" TIMESTAMPTZ(3),
    "window_until" TIMESTAMPTZ(3),
    "window_started_at" TIMESTAMPTZ(3),
    "after_parent_id" CHAR(18),
    "chunk_phase" TEXT,
    "chunk_from" TIMESTAMPTZ(3),
    "chunk_after_id" CHAR(18),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chatter_cursor_pkey" PRIMARY KEY ("connection_id")
);

-- The sweep lists the records of an object that have a work order.
CREATE INDEX "correlation_connection_id_sf_object_sf_id_idx" ON "correlation"("connection_id", "sf_object", "sf_id");
