-- Configuration stored in PostgreSQL as numbered versions (database mode), the main YAML and the
-- files it names, with environment references unresolved (secrets stay in the environment). Rows
-- are only inserted, and the highest version is the one in force.
CREATE TABLE "config_version" (
    "version" INTEGER NOT NULL,
    "main" TEXT NOT NULL,
    "files" JSONB NOT NULL,
    "hash" CHAR(64) NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "message" TEXT,
    "diff" TEXT NOT NULL,
    "restored_from" INTEGER,
    "restart_needed" TEXT[],

    CONSTRAINT "config_version_pkey" PRIMARY KEY ("version")
);

-- The configuration each timeline row was made with, a version number (or file and a hash in file
-- mode). Nullable, since rows written before this column and by operators (dashboard, CLI) have none.
ALTER TABLE "timeline_entry" ADD COLUMN "config_version" TEXT;
