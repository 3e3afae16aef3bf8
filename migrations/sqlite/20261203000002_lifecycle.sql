-- Close reasons an administrator offers when closing a conversation; a reason can also
-- be typed.
CREATE TABLE close_reasons (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, label)
);

-- An event someone sees besides those who may see its conversation: the user a conversation
-- was just taken from learns that it is gone.
ALTER TABLE events ADD COLUMN visible_to BIGINT;

-- Automatic closing rules: after so long without a message from the customer, the
-- conversations of the rule's accounts close with its reason. Counting starts no earlier than
-- saved_at (rules are not retroactive).
CREATE TABLE closing_rules (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    amount BIGINT NOT NULL,
    unit TEXT NOT NULL,
    reason TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- The accounts a rule applies to. An account is in at most one enabled rule: the index holds
-- it whatever the order of concurrent saves.
CREATE TABLE closing_rule_accounts (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    rule_id BIGINT NOT NULL REFERENCES closing_rules (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL,
    PRIMARY KEY (rule_id, account_id)
);
CREATE UNIQUE INDEX closing_rule_accounts_enabled ON closing_rule_accounts (account_id) WHERE enabled = 1;
