-- Custom fields of contacts, defined by administrators (Settings → Contact fields). kind:
-- 'text' | 'number' | 'date' (YYYY-MM-DD) | 'choice' | 'choices' (several) | 'id' (unique in
-- the organization). options: a choice field's choices, one per line. key: how Personalize
-- names it in a message ({cliente_id}).
CREATE TABLE contact_fields (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, key),
    UNIQUE (org_id, name)
);

-- A contact's value of a custom field (several choices one per line). unique_value repeats an
-- ID field's value, so that the index below keeps it unique in the organization (each field
-- belongs to one organization); it is null for every other kind.
CREATE TABLE contact_field_values (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    field_id BIGINT NOT NULL REFERENCES contact_fields (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    unique_value TEXT,
    PRIMARY KEY (contact_id, field_id)
);
CREATE UNIQUE INDEX contact_field_values_unique ON contact_field_values (field_id, unique_value);
CREATE INDEX contact_field_values_field ON contact_field_values (field_id);

-- The JSON column the foundation kept for these: never written, replaced by the tables above.
ALTER TABLE contacts DROP COLUMN custom_fields;
