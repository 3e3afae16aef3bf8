-- A user's first read of a conversation checks its foreign key, which share-locks the
-- conversation's row, and only then does the count's trigger lock that row for update: two
-- users reading the same conversation for the first time at once each waited for the other's
-- share lock (a deadlock, one of the reads failed). The row is now locked for update before
-- the read is written, so the second reader simply waits for the first.
CREATE FUNCTION conversation_reads_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM conversations WHERE id = OLD.conversation_id FOR UPDATE;
        RETURN OLD;
    END IF;
    PERFORM 1 FROM conversations WHERE id = NEW.conversation_id FOR UPDATE;
    RETURN NEW;
END;
$$;

CREATE TRIGGER conversation_reads_lock
BEFORE INSERT OR UPDATE OF last_read_id OR DELETE ON conversation_reads
FOR EACH ROW EXECUTE FUNCTION conversation_reads_lock();
