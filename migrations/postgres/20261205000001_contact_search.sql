-- Finding contacts by name, email, username or any of their numbers without reading every
-- contact: a trigram index of each contact's searchable text, folded to lower case without
-- accents (`search_fold`), so "lucia" finds "Lucía". Triggers keep it exact on every change,
-- whichever code makes it.

-- The searchable text of each contact.
CREATE VIEW contact_search_source AS
SELECT c.id, c.org_id,
    search_fold(c.first_name || ' ' || c.last_name || ' ' || COALESCE(c.email, '') || ' '
        || COALESCE(c.instagram_username, '') || ' ' || COALESCE(c.primary_phone, '') || ' '
        || COALESCE(c.whatsapp_phone, '') || ' '
        || COALESCE((SELECT string_agg(p.phone, ' ' ORDER BY p.id) FROM contact_phones p
                     WHERE p.contact_id = c.id), ''))
        AS search_text
FROM contacts c;

CREATE TABLE contact_search (
    contact_id BIGINT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL,
    search_text TEXT NOT NULL
);

INSERT INTO contact_search (contact_id, org_id, search_text)
SELECT id, org_id, search_text FROM contact_search_source;

CREATE INDEX contact_search_text ON contact_search USING gin (search_text gin_trgm_ops);

CREATE FUNCTION contact_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed BIGINT;
BEGIN
    IF TG_TABLE_NAME = 'contacts' THEN
        changed := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        changed := OLD.contact_id;
    ELSE
        changed := NEW.contact_id;
    END IF;
    INSERT INTO contact_search (contact_id, org_id, search_text)
    SELECT id, org_id, search_text FROM contact_search_source WHERE id = changed
    ON CONFLICT (contact_id) DO UPDATE SET search_text = excluded.search_text;
    -- A number moved from one contact to another changes the first one too (the tests are
    -- nested: a contact has no OLD.contact_id to read).
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'contact_phones' THEN
        IF OLD.contact_id <> NEW.contact_id THEN
            INSERT INTO contact_search (contact_id, org_id, search_text)
            SELECT id, org_id, search_text FROM contact_search_source WHERE id = OLD.contact_id
            ON CONFLICT (contact_id) DO UPDATE SET search_text = excluded.search_text;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER contact_search_insert AFTER INSERT ON contacts
FOR EACH ROW EXECUTE FUNCTION contact_search_refresh();

CREATE TRIGGER contact_search_update AFTER UPDATE OF
    first_name, last_name, email, instagram_username, primary_phone, whatsapp_phone ON contacts
FOR EACH ROW EXECUTE FUNCTION contact_search_refresh();

CREATE TRIGGER contact_search_phones AFTER INSERT OR UPDATE OF phone, contact_id OR DELETE
ON contact_phones
FOR EACH ROW EXECUTE FUNCTION contact_search_refresh();
