-- Nothing to do on SQLite: one writer at a time, so two first reads of a conversation never
-- wait for each other's locks (the PostgreSQL migration of this version takes the lock first).
SELECT 1;
