-- Finding contacts by name, email, username or any of their numbers without reading every
-- contact: a trigram index of each contact's searchable text that folds case and accents, so
-- "lucia" finds "Lucía". Triggers keep it exact on every change, whichever code makes it.

-- The searchable text of each contact.
CREATE VIEW contact_search_source AS
SELECT c.id, c.org_id,
    c.first_name || ' ' || c.last_name || ' ' || COALESCE(c.email, '') || ' '
        || COALESCE(c.instagram_username, '') || ' ' || COALESCE(c.primary_phone, '') || ' '
        || COALESCE(c.whatsapp_phone, '') || ' '
        || COALESCE((SELECT group_concat(p.phone, ' ') FROM contact_phones p
                     WHERE p.contact_id = c.id), '')
        AS search_text
FROM contacts c;

CREATE VIRTUAL TABLE contact_search USING fts5(
    search_text,
    org_id UNINDEXED,
    tokenize = 'trigram remove_diacritics 1'
);

INSERT INTO contact_search (rowid, search_text, org_id)
SELECT id, search_text, org_id FROM contact_search_source;

CREATE TRIGGER contact_search_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contact_search (rowid, search_text, org_id)
    SELECT id, search_text, org_id FROM contact_search_source WHERE id = new.id;
END;

CREATE TRIGGER contact_search_update AFTER UPDATE OF
    first_name, last_name, email, instagram_username, primary_phone, whatsapp_phone ON contacts
BEGIN
    DELETE FROM contact_search WHERE rowid = old.id;
    INSERT INTO contact_search (rowid, search_text, org_id)
    SELECT id, search_text, org_id FROM contact_search_source WHERE id = new.id;
END;

CREATE TRIGGER contact_search_delete AFTER DELETE ON contacts
BEGIN
    DELETE FROM contact_search WHERE rowid = old.id;
END;

-- A secondary number added, changed or removed.
CREATE TRIGGER contact_search_phone_insert AFTER INSERT ON contact_phones
BEGIN
    DELETE FROM contact_search WHERE rowid = new.contact_id;
    INSERT INTO contact_search (rowid, search_text, org_id)
    SELECT id, search_text, org_id FROM contact_search_source WHERE id = new.contact_id;
END;

CREATE TRIGGER contact_search_phone_update AFTER UPDATE OF phone, contact_id ON contact_phones
BEGIN
    DELETE FROM contact_search WHERE rowid IN (old.contact_id, new.contact_id);
    INSERT INTO contact_search (rowid, search_text, org_id)
    SELECT id, search_text, org_id FROM contact_search_source
    WHERE id IN (old.contact_id, new.contact_id);
END;

CREATE TRIGGER contact_search_phone_delete AFTER DELETE ON contact_phones
BEGIN
    DELETE FROM contact_search WHERE rowid = old.contact_id;
    INSERT INTO contact_search (rowid, search_text, org_id)
    SELECT id, search_text, org_id FROM contact_search_source WHERE id = old.contact_id;
END;
