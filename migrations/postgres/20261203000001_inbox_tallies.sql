-- The inbox counts, kept instead of counted: reading them must not scan every open
-- conversation. A conversation counts while it is open and not deleted; `assignee_id` is 0 for
-- an unassigned one. Triggers keep both tables exact on every change, whichever code makes it.
-- Rows are always changed in the same order (by user id), so concurrent changes queue instead
-- of deadlocking, and each count is split over 32 shards (the conversation's id modulo 32),
-- summed when read, so that concurrent messages to different conversations rarely wait for the
-- same row.

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

-- Adds `delta` to the open count of a place.
CREATE FUNCTION tally_open(
    c BIGINT, org BIGINT, account BIGINT, assignee BIGINT, delta BIGINT
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO open_tallies (org_id, account_id, assignee_id, shard, open_count)
    VALUES (org, account, COALESCE(assignee, 0), c % 32, delta)
    ON CONFLICT (account_id, assignee_id, shard)
    DO UPDATE SET open_count = open_tallies.open_count + excluded.open_count;
$$;

-- Adds the change of each user's unread state of conversation `c` to their counts: unread
-- before when its last incoming message was `was_incoming` (placed at `was_account`/`was_assignee`,
-- counted at all when `was_counted`), unread now likewise.
CREATE FUNCTION tally_unread(
    c BIGINT, org BIGINT,
    was_counted BOOLEAN, was_incoming BIGINT, was_account BIGINT, was_assignee BIGINT,
    now_counted BOOLEAN, now_incoming BIGINT, now_account BIGINT, now_assignee BIGINT
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF was_counted AND now_counted AND was_account = now_account
       AND COALESCE(was_assignee, 0) = COALESCE(now_assignee, 0) THEN
        -- The same place: only the users whose state flips.
        INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
        SELECT u.org_id, u.id, now_account, COALESCE(now_assignee, 0), c % 32,
            (COALESCE(now_incoming, 0) > COALESCE(r.last_read_id, 0))::int
            - (COALESCE(was_incoming, 0) > COALESCE(r.last_read_id, 0))::int
        FROM users u
        LEFT JOIN conversation_reads r ON r.conversation_id = c AND r.user_id = u.id
        WHERE u.org_id = org
          AND (COALESCE(now_incoming, 0) > COALESCE(r.last_read_id, 0))
            <> (COALESCE(was_incoming, 0) > COALESCE(r.last_read_id, 0))
        ORDER BY u.id
        ON CONFLICT (user_id, account_id, assignee_id, shard)
        DO UPDATE SET unread_count = unread_tallies.unread_count + excluded.unread_count;
        RETURN;
    END IF;
    IF was_counted THEN
        INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
        SELECT u.org_id, u.id, was_account, COALESCE(was_assignee, 0), c % 32, -1 FROM users u
        LEFT JOIN conversation_reads r ON r.conversation_id = c AND r.user_id = u.id
        WHERE u.org_id = org AND COALESCE(was_incoming, 0) > COALESCE(r.last_read_id, 0)
        ORDER BY u.id
        ON CONFLICT (user_id, account_id, assignee_id, shard)
        DO UPDATE SET unread_count = unread_tallies.unread_count - 1;
    END IF;
    IF now_counted THEN
        INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
        SELECT u.org_id, u.id, now_account, COALESCE(now_assignee, 0), c % 32, 1 FROM users u
        LEFT JOIN conversation_reads r ON r.conversation_id = c AND r.user_id = u.id
        WHERE u.org_id = org AND COALESCE(now_incoming, 0) > COALESCE(r.last_read_id, 0)
        ORDER BY u.id
        ON CONFLICT (user_id, account_id, assignee_id, shard)
        DO UPDATE SET unread_count = unread_tallies.unread_count + 1;
    END IF;
END;
$$;

CREATE FUNCTION conversations_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_counted BOOLEAN := TG_OP <> 'INSERT' AND OLD.status = 'open' AND OLD.deleted_at IS NULL;
    now_counted BOOLEAN := TG_OP <> 'DELETE' AND NEW.status = 'open' AND NEW.deleted_at IS NULL;
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- Before the row goes, while its read positions are still there.
        IF was_counted THEN
            PERFORM tally_open(OLD.id, OLD.org_id, OLD.account_id, OLD.assignee_id, -1);
            PERFORM tally_unread(OLD.id, OLD.org_id, true, OLD.last_incoming_id, OLD.account_id,
                OLD.assignee_id, false, NULL, NULL, NULL);
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF now_counted THEN
            PERFORM tally_open(NEW.id, NEW.org_id, NEW.account_id, NEW.assignee_id, 1);
            PERFORM tally_unread(NEW.id, NEW.org_id, false, NULL, NULL, NULL, true,
                NEW.last_incoming_id, NEW.account_id, NEW.assignee_id);
        END IF;
        RETURN NULL;
    END IF;
    IF was_counted = now_counted AND OLD.account_id = NEW.account_id
       AND OLD.assignee_id IS NOT DISTINCT FROM NEW.assignee_id
       AND OLD.last_incoming_id IS NOT DISTINCT FROM NEW.last_incoming_id THEN
        RETURN NULL;
    END IF;
    IF was_counted THEN
        IF NOT now_counted OR OLD.account_id <> NEW.account_id
           OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id THEN
            PERFORM tally_open(OLD.id, OLD.org_id, OLD.account_id, OLD.assignee_id, -1);
        END IF;
    END IF;
    IF now_counted THEN
        IF NOT was_counted OR OLD.account_id <> NEW.account_id
           OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id THEN
            PERFORM tally_open(NEW.id, NEW.org_id, NEW.account_id, NEW.assignee_id, 1);
        END IF;
    END IF;
    PERFORM tally_unread(NEW.id, NEW.org_id, was_counted, OLD.last_incoming_id, OLD.account_id,
        OLD.assignee_id, now_counted, NEW.last_incoming_id, NEW.account_id, NEW.assignee_id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER conversations_tally_change
AFTER INSERT OR UPDATE OF status, deleted_at, account_id, assignee_id, last_incoming_id
ON conversations FOR EACH ROW EXECUTE FUNCTION conversations_tally();
CREATE TRIGGER conversations_tally_delete
BEFORE DELETE ON conversations FOR EACH ROW EXECUTE FUNCTION conversations_tally();

-- A user's read position moved (or appeared, or went): their own count of that conversation.
-- The conversation's row is locked first, so a message arriving meanwhile is counted against
-- the read position it will see, never against an older one.
CREATE FUNCTION conversation_reads_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    conv conversations%ROWTYPE;
    reader BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
    was_read BIGINT := CASE WHEN TG_OP = 'INSERT' THEN 0 ELSE OLD.last_read_id END;
    now_read BIGINT := CASE WHEN TG_OP = 'DELETE' THEN 0 ELSE NEW.last_read_id END;
    delta INT;
BEGIN
    SELECT * INTO conv FROM conversations
    WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.conversation_id ELSE NEW.conversation_id END
    FOR UPDATE;
    IF NOT FOUND OR conv.status <> 'open' OR conv.deleted_at IS NOT NULL
       OR NOT EXISTS (SELECT 1 FROM users WHERE id = reader) THEN
        RETURN NULL;
    END IF;
    delta := (COALESCE(conv.last_incoming_id, 0) > now_read)::int
        - (COALESCE(conv.last_incoming_id, 0) > was_read)::int;
    IF delta <> 0 THEN
        INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
        VALUES (conv.org_id, reader, conv.account_id, COALESCE(conv.assignee_id, 0), conv.id % 32,
            delta)
        ON CONFLICT (user_id, account_id, assignee_id, shard)
        DO UPDATE SET unread_count = unread_tallies.unread_count + excluded.unread_count;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER conversation_reads_tally
AFTER INSERT OR UPDATE OF last_read_id OR DELETE ON conversation_reads
FOR EACH ROW EXECUTE FUNCTION conversation_reads_tally();

-- A new user has read nothing yet; a removed one needs no counts.
CREATE FUNCTION users_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM unread_tallies WHERE user_id = OLD.id;
        RETURN NULL;
    END IF;
    INSERT INTO unread_tallies (org_id, user_id, account_id, assignee_id, shard, unread_count)
    SELECT NEW.org_id, NEW.id, account_id, COALESCE(assignee_id, 0), id % 32, COUNT(*)
    FROM conversations
    WHERE org_id = NEW.org_id AND status = 'open' AND deleted_at IS NULL
      AND COALESCE(last_incoming_id, 0) > 0
    GROUP BY account_id, COALESCE(assignee_id, 0), id % 32
    ON CONFLICT (user_id, account_id, assignee_id, shard)
    DO UPDATE SET unread_count = unread_tallies.unread_count + excluded.unread_count;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_tally AFTER INSERT OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION users_tally();
