-- When a create was sent to Field Nation without a definite answer (timeout, cut connection, 5xx, or
-- a crash mid-call). Set before the create is sent and cleared once the outcome is known. While it is
-- set, the fieldnation-writer looks the work order up and does not create again until the create has
-- settled (fieldnation.createSettleSeconds).
ALTER TABLE "correlation" ADD COLUMN "ambiguous_create_at" TIMESTAMPTZ(3);

-- Recent rows still without a work order may have had a create lost by an earlier version, which
-- recorded nothing: look before creating for them too, counting from their last change. Older ones
-- are left alone (their jobs ended long ago, and a lookup window of weeks would be too long to page).
UPDATE "correlation" SET "ambiguous_create_at" = "updated_at"
WHERE "work_order_id" IS NULL AND "updated_at" > now() - interval '1 day';
