-- Sends leave in order per conversation: a row waits while an earlier one of its conversation
-- is queued, in flight or waiting for a retry. Several workers deliver side by side, at most
-- a few rows of one organization at a time.
ALTER TABLE outbox ADD COLUMN conversation_id BIGINT;
UPDATE outbox SET conversation_id = (SELECT m.conversation_id FROM messages m WHERE m.id = outbox.message_id);
CREATE INDEX outbox_conversation ON outbox (conversation_id, status, id);
CREATE INDEX outbox_org_in_flight ON outbox (org_id, status, locked_until);
