-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "correlation" (
    "id" UUID NOT NULL,
    "connection_id" TEXT NOT NULL,
    "sf_object" TEXT NOT NULL,
    "sf_id" CHAR(18) NOT NULL,
    "work_order_id" INTEGER,
    "state" TEXT NOT NULL DEFAULT 'claimed',
    "last_sf_modstamp" TIMESTAMPTZ(3),
    "last_payload_hash" TEXT,
    "last_payload" JSONB,
    "last_fn_status_at" TIMESTAMPTZ(3),
    "last_fn_status" TEXT,
    "last_error" TEXT,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "correlation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inbound_ledger" (
    "id" BIGSERIAL NOT NULL,
    "connection_id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "notification_id" TEXT NOT NULL,
    "sf_id" TEXT,
    "work_order_id" INTEGER,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(3),

    CONSTRAINT "inbound_ledger_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message_link" (
    "id" BIGSERIAL NOT NULL,
    "connection_id" TEXT NOT NULL,
    "case_comment_id" CHAR(18),
    "work_order_id" INTEGER NOT NULL,
    "fn_message_id" INTEGER,
    "direction" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_link_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "timeline_entry" (
    "id" BIGSERIAL NOT NULL,
    "connection_id" TEXT NOT NULL,
    "sf_id" CHAR(18),
    "work_order_id" INTEGER,
    "stage" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "queue" TEXT,
    "job_id" TEXT,
    "message" TEXT,
    "sf_api_calls" INTEGER NOT NULL DEFAULT 0,
    "detail" JSONB,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "timeline_entry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "correlation_connection_id_work_order_id_idx" ON "correlation"("connection_id", "work_order_id");

-- CreateIndex
CREATE UNIQUE INDEX "correlation_connection_id_sf_id_key" ON "correlation"("connection_id", "sf_id");

-- CreateIndex
CREATE UNIQUE INDEX "inbound_ledger_connection_id_source_notification_id_key" ON "inbound_ledger"("connection_id", "source", "notification_id");

-- CreateIndex
CREATE UNIQUE INDEX "message_link_connection_id_case_comment_id_key" ON "message_link"("connection_id", "case_comment_id");

-- CreateIndex
CREATE UNIQUE INDEX "message_link_connection_id_work_order_id_fn_message_id_key" ON "message_link"("connection_id", "work_order_id", "fn_message_id");

-- CreateIndex
CREATE INDEX "timeline_entry_connection_id_sf_id_at_idx" ON "timeline_entry"("connection_id", "sf_id", "at");

-- CreateIndex
CREATE INDEX "timeline_entry_connection_id_work_order_id_at_idx" ON "timeline_entry"("connection_id", "work_order_id", "at");

-- CreateIndex
CREATE INDEX "timeline_entry_sf_id_idx" ON "timeline_entry"("sf_id");

-- CreateIndex
CREATE INDEX "timeline_entry_work_order_id_idx" ON "timeline_entry"("work_order_id");
