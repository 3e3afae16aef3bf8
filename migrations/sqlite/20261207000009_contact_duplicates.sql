-- Possible duplicates: pairs of contacts of an organization that share a number (primary,
-- WhatsApp or secondary), an email, or the same name with the same company. Each pair is kept
-- both ways, so a contact's duplicates are one index lookup. Kept up to date as contacts change
-- (contacts/duplicates.rs), never by scanning. dismissed_at: someone said they are two people;
-- the pair stays so that it is not offered again.
CREATE TABLE contact_duplicates (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    other_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    dismissed_at BIGINT,
    PRIMARY KEY (contact_id, other_id)
);
CREATE INDEX contact_duplicates_other ON contact_duplicates (other_id);

-- The contacts stored before: their pairs, found once here.
WITH numbers AS (
    SELECT id AS contact_id, org_id, primary_phone AS phone FROM contacts
    WHERE primary_phone IS NOT NULL AND merged_into_id IS NULL
    UNION SELECT id, org_id, whatsapp_phone FROM contacts
    WHERE whatsapp_phone IS NOT NULL AND merged_into_id IS NULL
    UNION SELECT p.contact_id, p.org_id, p.phone FROM contact_phones p
    JOIN contacts c ON c.id = p.contact_id WHERE c.merged_into_id IS NULL
)
INSERT INTO contact_duplicates (org_id, contact_id, other_id, reason)
SELECT DISTINCT a.org_id, a.contact_id, b.contact_id, 'phone'
FROM numbers a JOIN numbers b ON b.org_id = a.org_id AND b.phone = a.phone
WHERE b.contact_id <> a.contact_id
ON CONFLICT DO NOTHING;
INSERT INTO contact_duplicates (org_id, contact_id, other_id, reason)
SELECT a.org_id, a.id, b.id, 'email'
FROM contacts a JOIN contacts b ON b.org_id = a.org_id AND b.email = a.email
WHERE b.id <> a.id AND a.merged_into_id IS NULL AND b.merged_into_id IS NULL
ON CONFLICT DO NOTHING;
INSERT INTO contact_duplicates (org_id, contact_id, other_id, reason)
SELECT a.org_id, a.id, b.id, 'name'
FROM contacts a JOIN contacts b ON b.org_id = a.org_id AND b.sort_name = a.sort_name
WHERE b.id <> a.id AND a.merged_into_id IS NULL AND b.merged_into_id IS NULL
    AND trim(a.company) <> '' AND lower(trim(a.company)) = lower(trim(b.company))
ON CONFLICT DO NOTHING;

-- A merge: the contact kept, the one merged into it, who and when, and what it changed
-- (snapshot, JSON) so that it can be undone within a day; undone_at once it was.
CREATE TABLE contact_merges (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kept_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    merged_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    snapshot TEXT NOT NULL,
    at BIGINT NOT NULL,
    undone_at BIGINT
);
CREATE INDEX contact_merges_kept ON contact_merges (kept_id, at);
CREATE INDEX contact_merges_merged ON contact_merges (merged_id);
