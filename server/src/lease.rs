//! Work kept as rows and claimed with a lease: the `jobs` table (slow work after a webhook) and
//! the `outbox` (sends waiting to be delivered) are one kind of queue. A worker claims the
//! first due row nobody holds for a while (`locked_until`), counting the attempt; it then
//! finishes the row, or gives it back due again later. A worker that stops mid-attempt only
//! delays its row until the lease runs out, and the next claim says the row was interrupted.
//!
//! Claiming is two statements that both databases run alike: read the first candidate, then
//! take it only if nobody took it in between. A worker that loses that race moves on.

use app::db::Db;
use app::epoch::EpochMs;
use app::error::AppError;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A table of rows that workers claim with a lease.
#[derive(Debug)]
pub struct Leased {
    pub table: &'static str,
    /// The column holding when a row is next due.
    pub due: &'static str,
    /// What a row still to do satisfies.
    pub pending: &'static str,
    /// What a claim sets besides the lease and the attempt count.
    pub on_claim: &'static str,
    /// What giving a row back sets besides its due time, its error and the lease.
    pub on_return: &'static str,
    /// What else a row must satisfy to be claimed (`$1` is now), after `AND`.
    pub claimable: &'static str,
    /// How long a claimed row is held for one attempt: longer than the longest attempt.
    pub lease_ms: i64,
    /// Attempts before a temporary failure is given up.
    pub max_attempts: i64,
}

/// Slow work after a webhook (`crate::jobs`). A download may take minutes.
pub const JOBS: Leased = Leased {
    table: "jobs",
    due: "due_at",
    pending: "done_at IS NULL",
    on_claim: "",
    on_return: "",
    claimable: "TRUE",
    lease_ms: 300_000,
    max_attempts: 8,
};

/// Sends waiting to be delivered (`crate::delivery`). A provider call gives up long before
/// two minutes; a row still held past that was being sent when its worker stopped.
///
/// A row is claimed only when no earlier row of its conversation is still to do (queued, in
/// flight, or waiting for a retry): the customer reads the messages in the order they were
/// written. And only while its organization has fewer than [`ORG_IN_FLIGHT`] rows held: one
/// organization's slow provider holds some workers, never all.
pub const OUTBOX: Leased = Leased {
    table: "outbox",
    due: "next_attempt_at",
    pending: "status IN ('queued', 'in_flight')",
    on_claim: ", status = 'in_flight'",
    on_return: ", status = 'queued'",
    claimable:
        "NOT EXISTS (SELECT 1 FROM outbox e WHERE e.conversation_id = outbox.conversation_id \
          AND e.id < outbox.id AND e.status IN ('queued', 'in_flight')) \
        AND (SELECT COUNT(*) FROM outbox h WHERE h.org_id = outbox.org_id \
          AND h.status = 'in_flight' AND h.locked_until >= $1) < 2",
    lease_ms: 120_000,
    max_attempts: 8,
};

/// Rows of one organization in flight at once, on all instances together: the `2` in
/// [`OUTBOX`]'s claim.
pub const ORG_IN_FLIGHT: usize = 2;

/// A row claimed for one attempt, with the columns its worker asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed<R> {
    pub id: i64,
    /// This attempt's number, from 1.
    pub attempts: i64,
    /// An earlier attempt was claimed and never finished nor given back: its worker stopped
    /// while working on it, so what that attempt did is unknown.
    pub interrupted: bool,
    /// The columns asked for.
    pub row: R,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim<R> {
    /// No row is due.
    Nothing,
    /// Another worker took the row first; look again.
    Lost,
    Won(Claimed<R>),
}

impl Leased {
    /// Claims the first row due at `now` that nobody holds, reading its `columns` (read by
    /// position into `R`) in the same statement.
    pub async fn claim_next<R>(
        &self,
        db: &Db,
        now: EpochMs,
        columns: &str,
    ) -> Result<Claim<R>, AppError>
    where
        R: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        let Leased {
            table,
            due,
            pending,
            ..
        } = self;
        let now_claimable = self.claimable.replace("$1", "$3");
        let candidate: Option<(i64, i64)> = sqlx::query_as(&format!(
            "SELECT id, COALESCE(locked_until, 0) FROM {table} WHERE {pending} AND {due} <= $1 \
               AND (locked_until IS NULL OR locked_until < $1) AND {claimable} \
             ORDER BY {due}, id LIMIT 1",
            claimable = self.claimable,
        ))
        .bind(now)
        .fetch_optional(&db.pool)
        .await?;
        let Some((id, held_until)) = candidate else {
            return Ok(Claim::Nothing);
        };
        // Taken only if it is still due and free: another worker may have claimed it, or
        // given it back due later, since it was read.
        let claimed: Option<AnyRow> = sqlx::query(&format!(
            "UPDATE {table} SET locked_until = $1, attempts = attempts + 1{on_claim} \
             WHERE id = $2 AND {pending} AND {due} <= $3 \
               AND (locked_until IS NULL OR locked_until < $3) AND {now_claimable} \
             RETURNING {columns}, attempts AS claimed_attempts",
            on_claim = self.on_claim,
        ))
        .bind(now + self.lease_ms)
        .bind(id)
        .bind(now)
        .fetch_optional(&db.pool)
        .await?;
        let Some(claimed) = claimed else {
            return Ok(Claim::Lost);
        };
        Ok(Claim::Won(Claimed {
            id,
            attempts: claimed.try_get("claimed_attempts")?,
            interrupted: held_until != 0,
            row: R::from_row(&claimed)?,
        }))
    }

    /// Whether a temporary failure of attempt `attempts` may be tried again.
    pub fn may_retry(&self, attempts: i64) -> bool {
        attempts < self.max_attempts
    }

    /// Gives a claimed row back, due again at `due_at`, with why this attempt failed.
    pub async fn retry_at(
        &self,
        db: &Db,
        id: i64,
        due_at: EpochMs,
        error: &str,
    ) -> Result<(), AppError> {
        sqlx::query(&format!(
            "UPDATE {table} SET {due} = $1, locked_until = NULL, last_error = $2{on_return} \
             WHERE id = $3",
            table = self.table,
            due = self.due,
            on_return = self.on_return,
        ))
        .bind(due_at)
        .bind(error)
        .bind(id)
        .execute(&db.pool)
        .await?;
        Ok(())
    }
}

/// Delay before retry number `attempt` (1-based): twice `base`, then doubling, capped at 5
/// minutes.
pub fn backoff_ms(base: i64, attempt: i64) -> i64 {
    let exponent = attempt.clamp(1, 20) as u32;
    base.max(1).saturating_mul(1i64 << exponent).min(300_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_five_minutes() {
        assert_eq!(backoff_ms(1000, 1), 2_000);
        assert_eq!(backoff_ms(1000, 2), 4_000);
        assert_eq!(backoff_ms(1000, 8), 256_000);
        assert_eq!(backoff_ms(1000, 9), 300_000);
        assert_eq!(backoff_ms(0, 1), 2);
    }
}
