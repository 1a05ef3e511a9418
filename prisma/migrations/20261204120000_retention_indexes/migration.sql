-- Retention deletes timeline and ledger rows by age, a batch at a time: each batch finds the old
-- rows through these indexes instead of scanning the table.
-- CreateIndex
CREATE INDEX "inbound_ledger_received_at_idx" ON "inbound_ledger"("received_at");

-- CreateIndex
CREATE INDEX "timeline_entry_at_idx" ON "timeline_entry"("at");
