-- Finding conversations by name, username or number without reading every conversation: a
-- trigram index of each conversation's searchable text (the customer's name and username as
-- the channel gives them, the linked contact's name, the customer's number or id). The index
-- folds case and accents, so "jose" finds "José". Triggers keep it exact on every change,
-- whichever code makes it.

-- The searchable text of each conversation.
CREATE VIEW conversation_search_source AS
SELECT c.id, c.org_id,
    COALESCE(c.customer_name, '') || ' ' || COALESCE(c.customer_username, '') || ' '
        || COALESCE(co.first_name || ' ' || co.last_name, '') || ' ' || c.customer_key
        AS search_text
FROM conversations c
LEFT JOIN contacts co ON co.id = c.contact_id;

CREATE VIRTUAL TABLE conversation_search USING fts5(
    search_text,
    org_id UNINDEXED,
    tokenize = 'trigram remove_diacritics 1'
);

INSERT INTO conversation_search (rowid, search_text, org_id)
SELECT id, search_text, org_id FROM conversation_search_source;

CREATE TRIGGER conversation_search_insert AFTER INSERT ON conversations
BEGIN
    INSERT INTO conversation_search (rowid, search_text, org_id)
    SELECT id, search_text, org_id FROM conversation_search_source WHERE id = new.id;
END;

CREATE TRIGGER conversation_search_update AFTER UPDATE OF
    customer_name, customer_username, customer_key, contact_id ON conversations
WHEN old.customer_name IS NOT new.customer_name
    OR old.customer_username IS NOT new.customer_username
    OR old.customer_key IS NOT new.customer_key
    OR old.contact_id IS NOT new.contact_id
BEGIN
    DELETE FROM conversation_search WHERE rowid = old.id;
    INSERT INTO conversation_search (rowid, search_text, org_id)
    SELECT id, search_text, org_id FROM conversation_search_source WHERE id = new.id;
END;

CREATE TRIGGER conversation_search_delete AFTER DELETE ON conversations
BEGIN
    DELETE FROM conversation_search WHERE rowid = old.id;
END;

CREATE TRIGGER conversation_search_contact AFTER UPDATE OF first_name, last_name ON contacts
WHEN old.first_name IS NOT new.first_name OR old.last_name IS NOT new.last_name
BEGIN
    DELETE FROM conversation_search
    WHERE rowid IN (SELECT id FROM conversations
        WHERE org_id = new.org_id AND contact_id = new.id);
    INSERT INTO conversation_search (rowid, search_text, org_id)
    SELECT s.id, s.search_text, s.org_id FROM conversation_search_source s
    JOIN conversations c ON c.id = s.id WHERE c.org_id = new.org_id AND c.contact_id = new.id;
END;
