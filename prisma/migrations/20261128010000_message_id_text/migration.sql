-- Field Nation message ids (msg_id) are strings in the API.
ALTER TABLE "message_link" ALTER COLUMN "fn_message_id" SET DATA TYPE TEXT;
