-- Every timestamp Buzón stores is in milliseconds since the Unix epoch; a session's expiry was
-- the one kept in seconds (as tower-sessions gives it). Now it is milliseconds too.
UPDATE sessions SET expires_at = expires_at * 1000;

-- The first automatic closing rules' tables: replaced by closing_rules and
-- closing_rule_accounts (20261203000002_lifecycle.sql) and read by nothing since.
DROP TABLE auto_close_rule_accounts;
DROP TABLE auto_close_rules;
