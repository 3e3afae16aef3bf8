-- Unread state compares message ids: providers give times in whole seconds, so a message that
-- arrives in the second a user read the conversation would otherwise count as read.
ALTER TABLE conversations ADD COLUMN last_incoming_id BIGINT;
ALTER TABLE conversation_reads ADD COLUMN last_read_id BIGINT NOT NULL DEFAULT 0;
UPDATE conversations SET last_incoming_id =
    (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = conversations.id AND m.direction = 'in');
UPDATE conversation_reads SET last_read_id = COALESCE(
    (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = conversation_reads.conversation_id
       AND m.direction = 'in' AND m.created_at <= conversation_reads.last_read_at), 0);
