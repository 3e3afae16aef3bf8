-- Contacts as the CRM keeps them: who made each one and from where, when its customer last
-- wrote or was written to, a name to sort by, each change in its history, the organization's
-- country for numbers typed without a prefix, and search across the company and Facebook ID
-- too. Editors and administrators keep every contact (`manage_contacts`).

-- Numbers in E.164: the WhatsApp ids stored as they came (`5215512345678`) get their `+`, and
-- Mexico's mobiles lose the `1` WhatsApp still writes after 52.
UPDATE contacts SET primary_phone = CASE
    WHEN primary_phone LIKE '521%' AND length(primary_phone) = 13
        THEN '+52' || substr(primary_phone, 4)
    ELSE '+' || primary_phone END
WHERE primary_phone <> '' AND primary_phone NOT LIKE '+%';
UPDATE contacts SET whatsapp_phone = CASE
    WHEN whatsapp_phone LIKE '521%' AND length(whatsapp_phone) = 13
        THEN '+52' || substr(whatsapp_phone, 4)
    ELSE '+' || whatsapp_phone END
WHERE whatsapp_phone <> '' AND whatsapp_phone NOT LIKE '+%';
UPDATE contact_phones SET phone = CASE
    WHEN phone LIKE '521%' AND length(phone) = 13 THEN '+52' || substr(phone, 4)
    ELSE '+' || phone END
WHERE phone <> '' AND phone NOT LIKE '+%';

-- ISO 3166 country of numbers typed without "+" (e.g. 'MX'); none: they need their prefix.
ALTER TABLE organizations ADD COLUMN default_country TEXT;

-- What a new conversation does with its customer's contact (`auto_contacts.rs`): 'off',
-- 'associate' (link the contact that has the customer's identity), or 'create' (and make one
-- when none has it).
ALTER TABLE accounts ADD COLUMN contact_mode TEXT NOT NULL DEFAULT 'associate';

ALTER TABLE contacts ADD COLUMN created_by BIGINT REFERENCES users (id);
-- 'contacts' (the Contacts page), 'import', or the channel of the conversation it came from.
ALTER TABLE contacts ADD COLUMN created_from TEXT;

-- The name in lower case without accents, for the list's order ("Álvaro" with the a's).
ALTER TABLE contacts ADD COLUMN sort_name TEXT GENERATED ALWAYS AS (
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(lower(first_name || ' ' || last_name),
        'á', 'a'), 'é', 'e'), 'í', 'i'), 'ó', 'o'), 'ú', 'u'), 'ü', 'u'), 'ñ', 'n'),
        'Á', 'a'), 'É', 'e'), 'Í', 'i'), 'Ó', 'o'), 'Ú', 'u'), 'Ü', 'u'), 'Ñ', 'n')
) VIRTUAL;
CREATE INDEX contacts_org_sort_name ON contacts (org_id, sort_name, id);

-- The newest message of the contact's conversations (or when it was made): the list's other
-- order. Triggers keep it whatever code moves a conversation or links it.
ALTER TABLE contacts ADD COLUMN last_activity_at BIGINT NOT NULL DEFAULT 0;
UPDATE contacts SET last_activity_at = MAX(created_at, COALESCE(
    (SELECT MAX(v.last_message_at) FROM conversations v WHERE v.contact_id = contacts.id), 0));
CREATE INDEX contacts_org_activity ON contacts (org_id, last_activity_at, id);

CREATE TRIGGER contacts_activity_message AFTER UPDATE OF last_message_at ON conversations
WHEN new.contact_id IS NOT NULL
BEGIN
    UPDATE contacts SET last_activity_at = new.last_message_at
    WHERE id = new.contact_id AND last_activity_at < new.last_message_at;
END;

CREATE TRIGGER contacts_activity_link AFTER UPDATE OF contact_id ON conversations
WHEN new.contact_id IS NOT NULL
BEGIN
    UPDATE contacts SET last_activity_at = new.last_message_at
    WHERE id = new.contact_id AND last_activity_at < new.last_message_at;
END;

CREATE TRIGGER contacts_activity_new AFTER INSERT ON conversations
WHEN new.contact_id IS NOT NULL
BEGIN
    UPDATE contacts SET last_activity_at = new.last_message_at
    WHERE id = new.contact_id AND last_activity_at < new.last_message_at;
END;

-- What happened to a contact, newest last: made ('created'), a field changed ('changed', with
-- the field and both values), a number learned from WhatsApp ('whatsapp_learned'), a
-- secondary phone added or removed, its owner changed.
CREATE TABLE contact_events (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    field TEXT,
    old_value TEXT,
    new_value TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX contact_events_contact ON contact_events (contact_id, id);

-- Search also finds the company and the Facebook ID.
DROP TRIGGER contact_search_update;
DROP TRIGGER contact_search_insert;
DROP TRIGGER contact_search_phone_insert;
DROP TRIGGER contact_search_phone_update;
DROP TRIGGER contact_search_phone_delete;
DROP VIEW contact_search_source;
CREATE VIEW contact_search_source AS
SELECT c.id, c.org_id,
    c.first_name || ' ' || c.last_name || ' ' || COALESCE(c.email, '') || ' '
        || COALESCE(c.instagram_username, '') || ' ' || COALESCE(c.primary_phone, '') || ' '
        || COALESCE(c.whatsapp_phone, '') || ' ' || COALESCE(c.company, '') || ' '
        || COALESCE(c.facebook_id, '') || ' '
        || COALESCE((SELECT group_concat(p.phone, ' ') FROM contact_phones p
                     WHERE p.contact_id = c.id), '')
        AS search_text
FROM contacts c;

CREATE TRIGGER contact_search_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contact_search (rowid, search_text, org_id)
    SELECT id, search_text, org_id FROM contact_search_source WHERE id = new.id;
END;

CREATE TRIGGER contact_search_update AFTER UPDATE OF
    first_name, last_name, email, instagram_username, primary_phone, whatsapp_phone, company,
    facebook_id ON contacts
BEGIN
    DELETE FROM contact_search WHERE rowid = old.id;
    INSERT INTO contact_search (rowid, search_text, org_id)
    SELECT id, search_text, org_id FROM contact_search_source WHERE id = new.id;
END;

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

DELETE FROM contact_search;
INSERT INTO contact_search (rowid, search_text, org_id)
SELECT id, search_text, org_id FROM contact_search_source;

UPDATE roles SET permissions = CASE WHEN permissions = '' THEN 'manage_contacts'
    ELSE permissions || ',manage_contacts' END
WHERE builtin IN ('admin', 'editor');
