-- The provider ids of the messages of deleted conversations: a webhook delivered again
-- (providers retry for days) must not bring a deleted conversation's messages back.
CREATE TABLE message_tombstones (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL,
    deleted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, provider_id)
);
