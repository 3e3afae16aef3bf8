-- What a template send costs, fixed when it is sent (the organization's price for its
-- category at that moment), so that later price changes do not rewrite past spend.
ALTER TABLE messages ADD COLUMN price_micros BIGINT;
ALTER TABLE messages ADD COLUMN price_currency TEXT;

-- Who uploaded a file for which conversation: only they can send it, only there.
ALTER TABLE attachments ADD COLUMN uploaded_by BIGINT REFERENCES users (id);
ALTER TABLE attachments ADD COLUMN upload_conversation_id BIGINT REFERENCES conversations (id) ON DELETE CASCADE;
