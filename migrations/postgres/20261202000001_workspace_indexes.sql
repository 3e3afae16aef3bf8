-- The conversation list's sections and line filter each read one index in order of activity:
-- open conversations by assignee (Unassigned, Assigned to me) and by line.
CREATE INDEX conversations_section ON conversations (org_id, status, assignee_id, last_message_at, id);
CREATE INDEX conversations_line ON conversations (org_id, account_id, status, last_message_at, id);
