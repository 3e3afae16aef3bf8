-- An email is unique within an organization; across the installation only among those who
-- chose a password (login is by email alone). An invitation to an email that has an account
-- elsewhere is accepted or refused by its owner, not answered to the inviting organization,
-- which so learns nothing of other organizations' people.
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_org_email ON users (org_id, email);
CREATE UNIQUE INDEX users_email_signed_up ON users (email) WHERE password_hash IS NOT NULL;
