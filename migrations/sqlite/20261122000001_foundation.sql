-- Buzón's whole schema, laid down once so later capabilities fill tables instead of reshaping
-- them. Conventions, shared with the PostgreSQL migration of the same version:
--   * every business row carries org_id and every query filters on it (multi-tenancy);
--   * timestamps are BIGINT milliseconds since the Unix epoch, UTC;
--   * flags are integers 0/1 (the Any driver maps no SQLite boolean); enumerations are short TEXT values checked by the application;
--   * lists that grow without bound get (parent, time, id) indexes for keyset pagination.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Built-in roles (builtin = 'admin' | 'seller' | 'editor') are seeded with each organization and
-- renamed only through translations; custom roles have builtin NULL. permissions is the
-- comma-separated list of permission keys (see app/src/permissions.rs).
CREATE TABLE roles (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    builtin TEXT,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- A user belongs to one organization; the email is unique across the installation because
-- login asks only for email and password. status: 'invited' (no password yet), 'active',
-- 'deactivated'.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT,
    status TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'es',
    sound_enabled INTEGER NOT NULL DEFAULT 1,
    available INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_org ON users (org_id, id);

-- One-time invitation links. Only a hash of the token is stored, so a database leak does not
-- leak usable links.
CREATE TABLE invites (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT REFERENCES users (id),
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);

-- Login sessions (tower-sessions records). Installation-level: a session exists before anyone
-- has logged in. user_id is copied out of the record so that deactivating a user ends all of
-- their sessions with one statement.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Failed logins, kept in the database so the limit holds across server instances.
-- scope: 'account' (key = email) or 'address' (key = client IP).
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (scope, key, at);

-- Connected accounts: a WhatsApp line, a Facebook Page, an Instagram professional
-- account or a Twilio sender. external_id is what webhooks route on (phone_number_id, page id,
-- Instagram id, Twilio sender). Secrets are encrypted with the server key; config holds the
-- non-secret settings as JSON. Disconnected accounts stay for their history.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    name TEXT NOT NULL,
    external_id TEXT NOT NULL,
    display_handle TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    secrets BLOB,
    status TEXT NOT NULL,
    connected_by BIGINT REFERENCES users (id),
    connected_at BIGINT NOT NULL,
    disconnected_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_route ON accounts (channel, external_id);
CREATE INDEX accounts_org ON accounts (org_id, channel);

-- CRM contacts with their channel identities.
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    email TEXT,
    company TEXT,
    primary_phone TEXT,
    whatsapp_phone TEXT,
    facebook_id TEXT,
    instagram_username TEXT,
    owner_id BIGINT REFERENCES users (id),
    consent_at BIGINT,
    custom_fields TEXT NOT NULL DEFAULT '{}',
    merged_into_id BIGINT REFERENCES contacts (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX contacts_org_name ON contacts (org_id, last_name, first_name);
CREATE INDEX contacts_org_whatsapp ON contacts (org_id, whatsapp_phone);
CREATE INDEX contacts_org_primary_phone ON contacts (org_id, primary_phone);
CREATE INDEX contacts_org_facebook ON contacts (org_id, facebook_id);
CREATE INDEX contacts_org_instagram ON contacts (org_id, instagram_username);
CREATE INDEX contacts_org_email ON contacts (org_id, email);
CREATE INDEX contacts_owner ON contacts (org_id, owner_id);

-- Secondary phones of a contact (the primary and WhatsApp phones live on the contact).
CREATE TABLE contact_phones (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    label TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX contact_phones_phone ON contact_phones (org_id, phone);
CREATE INDEX contact_phones_contact ON contact_phones (contact_id);

-- One conversation per (account, customer identity), ever: a new message reopens a closed
-- conversation and revives a deleted one, so the pair is unique. customer_key is
-- the WhatsApp id, page-scoped id or Instagram-scoped id. status: 'open' | 'closed'.
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    customer_key TEXT NOT NULL,
    customer_name TEXT,
    customer_username TEXT,
    contact_id BIGINT REFERENCES contacts (id),
    status TEXT NOT NULL,
    assignee_id BIGINT REFERENCES users (id),
    close_reason TEXT,
    last_incoming_at BIGINT,
    last_message_at BIGINT NOT NULL,
    last_message_preview TEXT,
    last_message_kind TEXT,
    auto_close_at BIGINT,
    deleted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, customer_key)
);
-- The conversation list: newest activity first, keyset on (last_message_at, id).
CREATE INDEX conversations_list ON conversations (org_id, status, last_message_at, id);
CREATE INDEX conversations_assignee ON conversations (org_id, assignee_id, last_message_at, id);
CREATE INDEX conversations_contact ON conversations (org_id, contact_id);
-- Auto-close deadlines are found through this index, never by scanning every conversation.
CREATE INDEX conversations_auto_close ON conversations (auto_close_at) WHERE auto_close_at IS NOT NULL;

-- Per-user read position: unread state is per user.
CREATE TABLE conversation_reads (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_read_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);

-- Messages of every channel, plus the conversation's system events (direction 'system'), so
-- the chat window pages through one ordered list. direction: 'in' | 'out' | 'system'.
-- status (outgoing): 'pending' | 'sent' | 'delivered' | 'read' | 'failed'; it only moves
-- forward. content holds the kind-specific parts (location, buttons, system event) as JSON.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT,
    content TEXT NOT NULL DEFAULT '{}',
    provider_id TEXT,
    reply_to_id BIGINT REFERENCES messages (id),
    reply_to_provider_id TEXT,
    sender_user_id BIGINT REFERENCES users (id),
    sent_from TEXT,
    status TEXT,
    error_code TEXT,
    error_reason TEXT,
    template_name TEXT,
    pricing_category TEXT,
    edited_at BIGINT,
    deleted_at BIGINT,
    provider_at BIGINT,
    created_at BIGINT NOT NULL
);
-- Redelivered webhooks store nothing new: a provider id is unique per account.
CREATE UNIQUE INDEX messages_provider_id ON messages (account_id, provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX messages_thread ON messages (conversation_id, created_at, id);

CREATE TABLE reactions (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    actor TEXT NOT NULL,
    emoji TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (message_id, actor)
);

-- Media of a message. The bytes live in the media store under storage_key.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    message_id BIGINT REFERENCES messages (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    file_name TEXT,
    size_bytes BIGINT,
    sha256 TEXT,
    storage_key TEXT,
    provider_media_id TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);

-- The ordered per-organization event log the live stream replays (architecture.md).
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    conversation_id BIGINT,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_org ON events (org_id, id);

-- Durable outbox: a send is a row before it is attempted; attempts are counted so a message is
-- never sent twice. status: 'queued' | 'in_flight' | 'done' | 'failed'.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- Durable jobs (media download, profile lookup, auto-close, ...), retried with backoff.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    org_id BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    last_error TEXT,
    done_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (due_at) WHERE done_at IS NULL;

-- Message templates synced from the provider, with their category for spend.
CREATE TABLE templates (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    components TEXT NOT NULL,
    synced_at BIGINT NOT NULL,
    UNIQUE (account_id, name, language)
);

CREATE TABLE template_prices (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    price_micros BIGINT NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (org_id, category)
);

CREATE TABLE quick_replies (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    short_code TEXT NOT NULL,
    body TEXT NOT NULL,
    attachment_id BIGINT REFERENCES attachments (id),
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, short_code)
);

-- CRM records. Money in minor units.
CREATE TABLE deals (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id BIGINT REFERENCES contacts (id),
    title TEXT NOT NULL,
    value_minor BIGINT,
    currency TEXT,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    owner_id BIGINT REFERENCES users (id),
    closed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deals_contact ON deals (org_id, contact_id);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id BIGINT REFERENCES contacts (id),
    deal_id BIGINT REFERENCES deals (id),
    title TEXT NOT NULL,
    due_at BIGINT,
    done_at BIGINT,
    assignee_id BIGINT REFERENCES users (id),
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX tasks_contact ON tasks (org_id, contact_id);

CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id BIGINT REFERENCES contacts (id),
    deal_id BIGINT REFERENCES deals (id),
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    note TEXT,
    due_at BIGINT,
    done_at BIGINT,
    user_id BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX activities_contact ON activities (org_id, contact_id);

CREATE TABLE call_logs (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id BIGINT REFERENCES contacts (id),
    user_id BIGINT REFERENCES users (id),
    direction TEXT NOT NULL,
    phone TEXT,
    duration_seconds BIGINT,
    outcome TEXT,
    note TEXT,
    started_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX call_logs_contact ON call_logs (org_id, contact_id);

-- Notes on contacts and deals. A conversation linked to a lead or deal writes its history into
-- a note per 24 h period: source_conversation_id and period_start find that note again.
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id BIGINT REFERENCES contacts (id),
    deal_id BIGINT REFERENCES deals (id),
    source_conversation_id BIGINT REFERENCES conversations (id) ON DELETE SET NULL,
    period_start BIGINT,
    body TEXT NOT NULL,
    author_id BIGINT REFERENCES users (id),
    edited INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notes_contact ON notes (org_id, contact_id);
CREATE INDEX notes_deal ON notes (org_id, deal_id);

-- Automatic closing rules. An account belongs to at most one rule.
CREATE TABLE auto_close_rules (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL,
    inactivity_minutes BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE auto_close_rule_accounts (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    rule_id BIGINT NOT NULL REFERENCES auto_close_rules (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, account_id)
);
