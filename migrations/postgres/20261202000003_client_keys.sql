-- A message the browser sends with its own key (its offline queue sending again after an
-- answer was lost) is stored once.
ALTER TABLE messages ADD COLUMN client_key TEXT;
CREATE UNIQUE INDEX messages_client_key ON messages (conversation_id, client_key) WHERE client_key IS NOT NULL;
