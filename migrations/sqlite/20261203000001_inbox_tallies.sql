-- The inbox counts, kept instead of counted: reading them must not scan every open
-- conversation. A conversation counts while it is open and not deleted; `assignee_id` is 0 for
-- an unassigned one. Triggers keep both tables exact on every change, whichever code makes it.
-- Each count is split over 32 shards (the conversation's id modulo 32), summed when read, so
-- that concurrent messages to different conversations rarely wait for the same row.

-- Open conversations per line and assignee.
CREATE TABLE open_tallies (
    org_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    assignee_id BIGINT NOT NULL,
    shard BIGINT NOT NULL,
    open_count BIGINT NOT NULL,
    PRIMARY KEY (account_id, assignee_id, shard)
);
CREATE INDEX open_tallies_org ON open_tallies (org_id);

-- Of those, the ones unread by each user of the organization: a message came in after the
-- user's read position (compared by message id, as the list does).
CREATE TABLE unread_tallies (
    org_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    assignee_id BIGINT NOT NULL,
    shard BIGINT NOT NULL,
    unread_count BIGINT NOT NULL,
    PRIMARY KEY (user_id, account_id, assignee_id, shard)
);

INSERT INTO open_tallies (org_id, account_id, assignee_id, shard, open_count)
SELECT org_id, account_id, COALESCE(assignee_id, 0), id % 32, COUNT(*) FROM conversations
WHERE status = 'open' AND deleted_at IS NULL
GROUP BY org_id, account_id, COALESCE(assignee_id, 0), id % 32;

INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
SELECT u.org_id, u.id, c.account_id, COALESCE(c.assignee_id, 0), c.id % 32, COUNT(*)
FROM conversations c
JOIN users u ON u.org_id = c.org_id
LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.user_id = u.id
WHERE c.status = 'open' AND c.deleted_at IS NULL
  AND COALESCE(c.last_incoming_id, 0) > COALESCE(r.last_read_id, 0)
GROUP BY u.org_id, u.id, c.account_id, COALESCE(c.assignee_id, 0), c.id % 32;

-- A new conversation.
CREATE TRIGGER conversations_tally_insert AFTER INSERT ON conversations
WHEN NEW.status = 'open' AND NEW.deleted_at IS NULL
BEGIN
    INSERT INTO open_tallies (org_id, account_id, assignee_id, shard, open_count)
    VALUES (NEW.org_id, NEW.account_id, COALESCE(NEW.assignee_id, 0), NEW.id % 32, 1)
    ON CONFLICT (account_id, assignee_id, shard) DO UPDATE SET open_count = open_count + 1;
    INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
    SELECT u.org_id, u.id, NEW.account_id, COALESCE(NEW.assignee_id, 0), NEW.id % 32, 1 FROM users u
    LEFT JOIN conversation_reads r ON r.conversation_id = NEW.id AND r.user_id = u.id
    WHERE u.org_id = NEW.org_id AND COALESCE(NEW.last_incoming_id, 0) > COALESCE(r.last_read_id, 0)
    ORDER BY u.id
    ON CONFLICT (user_id, account_id, assignee_id, shard) DO UPDATE SET unread_count = unread_count + 1;
END;

-- Opened, closed, deleted, moved to another line or assignee: out of the old place, into the
-- new one.
CREATE TRIGGER conversations_tally_move AFTER UPDATE OF status, deleted_at, account_id, assignee_id, last_incoming_id ON conversations
WHEN OLD.status IS NOT NEW.status OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
  OR OLD.account_id IS NOT NEW.account_id OR OLD.assignee_id IS NOT NEW.assignee_id
BEGIN
    INSERT INTO open_tallies (org_id, account_id, assignee_id, shard, open_count)
    SELECT OLD.org_id, OLD.account_id, COALESCE(OLD.assignee_id, 0), OLD.id % 32, -1
    WHERE OLD.status = 'open' AND OLD.deleted_at IS NULL
    ON CONFLICT (account_id, assignee_id, shard) DO UPDATE SET open_count = open_count - 1;
    INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
    SELECT u.org_id, u.id, OLD.account_id, COALESCE(OLD.assignee_id, 0), OLD.id % 32, -1 FROM users u
    LEFT JOIN conversation_reads r ON r.conversation_id = OLD.id AND r.user_id = u.id
    WHERE u.org_id = OLD.org_id AND OLD.status = 'open' AND OLD.deleted_at IS NULL
      AND COALESCE(OLD.last_incoming_id, 0) > COALESCE(r.last_read_id, 0)
    ORDER BY u.id
    ON CONFLICT (user_id, account_id, assignee_id, shard) DO UPDATE SET unread_count = unread_count - 1;
    INSERT INTO open_tallies (org_id, account_id, assignee_id, shard, open_count)
    SELECT NEW.org_id, NEW.account_id, COALESCE(NEW.assignee_id, 0), NEW.id % 32, 1
    WHERE NEW.status = 'open' AND NEW.deleted_at IS NULL
    ON CONFLICT (account_id, assignee_id, shard) DO UPDATE SET open_count = open_count + 1;
    INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
    SELECT u.org_id, u.id, NEW.account_id, COALESCE(NEW.assignee_id, 0), NEW.id % 32, 1 FROM users u
    LEFT JOIN conversation_reads r ON r.conversation_id = NEW.id AND r.user_id = u.id
    WHERE u.org_id = NEW.org_id AND NEW.status = 'open' AND NEW.deleted_at IS NULL
      AND COALESCE(NEW.last_incoming_id, 0) > COALESCE(r.last_read_id, 0)
    ORDER BY u.id
    ON CONFLICT (user_id, account_id, assignee_id, shard) DO UPDATE SET unread_count = unread_count + 1;
END;

-- A message came in, the conversation staying where it is: only the users for whom it turns
-- unread change, so a busy conversation does not rewrite every user's counts.
CREATE TRIGGER conversations_tally_incoming AFTER UPDATE OF last_incoming_id ON conversations
WHEN OLD.status IS NEW.status AND (OLD.deleted_at IS NULL) = (NEW.deleted_at IS NULL)
  AND OLD.account_id IS NEW.account_id AND OLD.assignee_id IS NEW.assignee_id
  AND NEW.status = 'open' AND NEW.deleted_at IS NULL
  AND COALESCE(OLD.last_incoming_id, 0) <> COALESCE(NEW.last_incoming_id, 0)
BEGIN
    INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
    SELECT u.org_id, u.id, NEW.account_id, COALESCE(NEW.assignee_id, 0), NEW.id % 32,
        (COALESCE(NEW.last_incoming_id, 0) > COALESCE(r.last_read_id, 0))
        - (COALESCE(OLD.last_incoming_id, 0) > COALESCE(r.last_read_id, 0))
    FROM users u
    LEFT JOIN conversation_reads r ON r.conversation_id = NEW.id AND r.user_id = u.id
    WHERE u.org_id = NEW.org_id
      AND (COALESCE(NEW.last_incoming_id, 0) > COALESCE(r.last_read_id, 0))
        <> (COALESCE(OLD.last_incoming_id, 0) > COALESCE(r.last_read_id, 0))
    ORDER BY u.id
    ON CONFLICT (user_id, account_id, assignee_id, shard)
    DO UPDATE SET unread_count = unread_count + excluded.unread_count;
END;

-- Before the row goes, while its read positions are still there.
CREATE TRIGGER conversations_tally_delete BEFORE DELETE ON conversations
WHEN OLD.status = 'open' AND OLD.deleted_at IS NULL
BEGIN
    UPDATE open_tallies SET open_count = open_count - 1
    WHERE account_id = OLD.account_id AND assignee_id = COALESCE(OLD.assignee_id, 0)
      AND shard = OLD.id % 32;
    UPDATE unread_tallies SET unread_count = unread_count - 1
    WHERE account_id = OLD.account_id AND assignee_id = COALESCE(OLD.assignee_id, 0)
      AND shard = OLD.id % 32
      AND user_id IN (
        SELECT u.id FROM users u
        LEFT JOIN conversation_reads r ON r.conversation_id = OLD.id AND r.user_id = u.id
        WHERE u.org_id = OLD.org_id
          AND COALESCE(OLD.last_incoming_id, 0) > COALESCE(r.last_read_id, 0));
END;

-- A user's read position moved (or appeared, or went): their own count of that conversation.
CREATE TRIGGER conversation_reads_tally_insert AFTER INSERT ON conversation_reads
BEGIN
    INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
    SELECT u.org_id, NEW.user_id, c.account_id, COALESCE(c.assignee_id, 0), c.id % 32,
        (COALESCE(c.last_incoming_id, 0) > NEW.last_read_id) - (COALESCE(c.last_incoming_id, 0) > 0)
    FROM conversations c JOIN users u ON u.id = NEW.user_id
    WHERE c.id = NEW.conversation_id AND c.status = 'open' AND c.deleted_at IS NULL
      AND (COALESCE(c.last_incoming_id, 0) > NEW.last_read_id) <> (COALESCE(c.last_incoming_id, 0) > 0)
    ON CONFLICT (user_id, account_id, assignee_id, shard)
    DO UPDATE SET unread_count = unread_count + excluded.unread_count;
END;

CREATE TRIGGER conversation_reads_tally_update AFTER UPDATE OF last_read_id ON conversation_reads
BEGIN
    INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
    SELECT u.org_id, NEW.user_id, c.account_id, COALESCE(c.assignee_id, 0), c.id % 32,
        (COALESCE(c.last_incoming_id, 0) > NEW.last_read_id)
        - (COALESCE(c.last_incoming_id, 0) > OLD.last_read_id)
    FROM conversations c JOIN users u ON u.id = NEW.user_id
    WHERE c.id = NEW.conversation_id AND c.status = 'open' AND c.deleted_at IS NULL
      AND (COALESCE(c.last_incoming_id, 0) > NEW.last_read_id)
        <> (COALESCE(c.last_incoming_id, 0) > OLD.last_read_id)
    ON CONFLICT (user_id, account_id, assignee_id, shard)
    DO UPDATE SET unread_count = unread_count + excluded.unread_count;
END;

CREATE TRIGGER conversation_reads_tally_delete AFTER DELETE ON conversation_reads
BEGIN
    INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
    SELECT u.org_id, OLD.user_id, c.account_id, COALESCE(c.assignee_id, 0), c.id % 32,
        (COALESCE(c.last_incoming_id, 0) > 0) - (COALESCE(c.last_incoming_id, 0) > OLD.last_read_id)
    FROM conversations c JOIN users u ON u.id = OLD.user_id
    WHERE c.id = OLD.conversation_id AND c.status = 'open' AND c.deleted_at IS NULL
      AND (COALESCE(c.last_incoming_id, 0) > 0) <> (COALESCE(c.last_incoming_id, 0) > OLD.last_read_id)
    ON CONFLICT (user_id, account_id, assignee_id, shard)
    DO UPDATE SET unread_count = unread_count + excluded.unread_count;
END;

-- A new user has read nothing yet.
CREATE TRIGGER users_tally_insert AFTER INSERT ON users
BEGIN
    INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
    SELECT NEW.org_id, NEW.id, account_id, COALESCE(assignee_id, 0), id % 32, COUNT(*)
    FROM conversations
    WHERE org_id = NEW.org_id AND status = 'open' AND deleted_at IS NULL
      AND COALESCE(last_incoming_id, 0) > 0
    GROUP BY account_id, COALESCE(assignee_id, 0), id % 32
    ON CONFLICT (user_id, account_id, assignee_id, shard)
    DO UPDATE SET unread_count = unread_count + excluded.unread_count;
END;

CREATE TRIGGER users_tally_delete AFTER DELETE ON users
BEGIN
    DELETE FROM unread_tallies WHERE user_id = OLD.id;
END;
