-- Finding conversations by name, username or number without reading every conversation: a
-- trigram index of each conversation's searchable text (the customer's name and username as
-- the channel gives them, the linked contact's name, the customer's number or id), folded to
-- lower case without accents, so "jose" finds "José". Triggers keep it exact on every change,
-- whichever code makes it. A table of its own, so that the many updates of a conversation's
-- last message never touch the trigram index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Lower case without the accents of Spanish, Portuguese and French (upper case too, for
-- databases whose collation lowers ASCII only).
CREATE FUNCTION search_fold(text TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT translate(lower(text),
        'áàâäãåéèêëíìîïóòôöõúùûüñçÁÀÂÄÃÅÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ',
        'aaaaaaeeeeiiiiooooouuuuncaaaaaaeeeeiiiiooooouuuunc');
$$;

-- The searchable text of each conversation.
CREATE VIEW conversation_search_source AS
SELECT c.id, c.org_id,
    search_fold(COALESCE(c.customer_name, '') || ' ' || COALESCE(c.customer_username, '')
        || ' ' || COALESCE(co.first_name || ' ' || co.last_name, '') || ' ' || c.customer_key)
        AS search_text
FROM conversations c
LEFT JOIN contacts co ON co.id = c.contact_id;

CREATE TABLE conversation_search (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL,
    search_text TEXT NOT NULL
);

INSERT INTO conversation_search (conversation_id, org_id, search_text)
SELECT id, org_id, search_text FROM conversation_search_source;

CREATE INDEX conversation_search_text ON conversation_search USING gin (search_text gin_trgm_ops);

CREATE FUNCTION conversation_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'contacts' THEN
        INSERT INTO conversation_search (conversation_id, org_id, search_text)
        SELECT s.id, s.org_id, s.search_text FROM conversation_search_source s
        JOIN conversations c ON c.id = s.id
        WHERE c.org_id = NEW.org_id AND c.contact_id = NEW.id
        ORDER BY s.id
        ON CONFLICT (conversation_id) DO UPDATE SET search_text = excluded.search_text;
    ELSE
        INSERT INTO conversation_search (conversation_id, org_id, search_text)
        SELECT id, org_id, search_text FROM conversation_search_source WHERE id = NEW.id
        ON CONFLICT (conversation_id) DO UPDATE SET search_text = excluded.search_text;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER conversation_search_insert AFTER INSERT ON conversations
FOR EACH ROW EXECUTE FUNCTION conversation_search_refresh();

CREATE TRIGGER conversation_search_update AFTER UPDATE OF
    customer_name, customer_username, customer_key, contact_id ON conversations
FOR EACH ROW WHEN (OLD.customer_name IS DISTINCT FROM NEW.customer_name
    OR OLD.customer_username IS DISTINCT FROM NEW.customer_username
    OR OLD.customer_key IS DISTINCT FROM NEW.customer_key
    OR OLD.contact_id IS DISTINCT FROM NEW.contact_id)
EXECUTE FUNCTION conversation_search_refresh();

CREATE TRIGGER conversation_search_contact AFTER UPDATE OF first_name, last_name ON contacts
FOR EACH ROW WHEN (OLD.first_name IS DISTINCT FROM NEW.first_name
    OR OLD.last_name IS DISTINCT FROM NEW.last_name)
EXECUTE FUNCTION conversation_search_refresh();
