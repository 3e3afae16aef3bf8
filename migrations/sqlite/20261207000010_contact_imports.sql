-- A CSV file of contacts being imported: the file as uploaded, what each of its columns holds
-- (mapping: JSON list of field keys, '' for a column left out), what to do with a row that
-- matches an existing contact ('skip' | 'create'), and how far it got. status: 'draft' (being
-- mapped), 'queued', 'running', 'done'. next_row: the rows (after the header) already confirmed:
-- each batch of rows commits with it, so an import stopped half-way goes on from there and
-- never writes a row twice. locked_until: the worker running it holds it until then.
CREATE TABLE contact_imports (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    file_name TEXT NOT NULL,
    content TEXT NOT NULL,
    mapping TEXT NOT NULL DEFAULT '[]',
    on_duplicate TEXT NOT NULL DEFAULT 'skip',
    status TEXT NOT NULL DEFAULT 'draft',
    total_rows BIGINT NOT NULL,
    next_row BIGINT NOT NULL DEFAULT 0,
    created_count BIGINT NOT NULL DEFAULT 0,
    skipped_count BIGINT NOT NULL DEFAULT 0,
    rejected_count BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX contact_imports_pending ON contact_imports (status, id);

-- Each row an import could not take, with why (an error as the server functions send it, so
-- that the page says it in the reader's language) and the row as it was.
CREATE TABLE contact_import_rejects (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    import_id BIGINT NOT NULL REFERENCES contact_imports (id) ON DELETE CASCADE,
    row_number BIGINT NOT NULL,
    reason TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (import_id, row_number)
);
