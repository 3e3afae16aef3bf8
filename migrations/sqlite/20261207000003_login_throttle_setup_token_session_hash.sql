-- Login throttling: one row per account and per client address, reserved before a password is
-- hashed: how many tries in a row went without a success, when the last came, and when the
-- next may come (the wait grows with each failure past the free ones).
DROP TABLE login_failures;
CREATE TABLE login_throttle (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

-- The one-time token that lets the first administrator be created (printed on start while
-- no organization exists; removed by the setup that uses it).
CREATE TABLE setup_token (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Sessions are stored under a hash of their id, so that a copy of the table signs nobody
-- in. The sessions stored so far were under their plain ids: they end (everyone signs in
-- once more).
DELETE FROM sessions;
