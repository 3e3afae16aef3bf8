//! Automatic closing rules: Settings → Inbox → Conversation closing. Each open
//! conversation of a rule's accounts carries its deadline (`auto_close_at`, from
//! [`crate::lifecycle::close_at`]), kept current when the customer writes, when it reopens and
//! when a rule is saved; a scheduler closes what is due through the index on that column, so
//! nothing scans every conversation.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::epoch::EpochMs;
use crate::error::AppError;

/// Longest rule name kept.
pub const MAX_NAME_CHARS: usize = 60;

/// A rule as the settings page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleView {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub amount: i64,
    /// `minutes`, `hours` or `days`.
    pub unit: String,
    pub reason: String,
    pub account_ids: Vec<i64>,
    pub saved_at: EpochMs,
}

#[server(prefix = "/api", endpoint = "closing_rules", output = crate::codec::Json)]
pub async fn closing_rules() -> Result<Vec<RuleView>, AppError> {
    ssr::rules().await.map_err(AppError::respond)
}

/// Creates a rule, or with `id` changes one; either way it counts from now on.
#[server(prefix = "/api", endpoint = "save_closing_rule", output = crate::codec::Json)]
pub async fn save_closing_rule(
    id: Option<i64>,
    name: String,
    #[server(default)] enabled: bool,
    amount: String,
    unit: String,
    reason: String,
    #[server(default)] account_ids: Vec<i64>,
) -> Result<RuleView, AppError> {
    ssr::save(id, name, enabled, amount, unit, reason, account_ids)
        .await
        .map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "switch_closing_rule", output = crate::codec::Json)]
pub async fn switch_closing_rule(id: i64, enabled: bool) -> Result<RuleView, AppError> {
    ssr::switch(id, enabled).await.map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "delete_closing_rule", output = crate::codec::Json)]
pub async fn delete_closing_rule(id: i64) -> Result<(), AppError> {
    ssr::delete(id).await.map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use serde_json::json;

    use super::*;
    use crate::auth::ssr::require;
    use crate::conversations::lifecycle::ssr::system_event;
    use crate::conversations::lifecycle::valid_reason;
    use crate::conversations::store::{summary, SummaryRow, SUMMARY_COLUMNS};
    use crate::db::Db;
    use crate::epoch::EpochMs;
    use crate::error::{Field, Problem};
    use crate::event_log;
    use crate::event_log::Hub;
    use crate::lifecycle::{close_at, ClosingRule, Inactivity, Unit};
    use crate::orgs::Tx;
    use crate::permissions::can_manage_settings;
    use crate::state::AppState;

    /// What closing a due conversation needs of it and its rule.
    #[derive(sqlx::FromRow)]
    struct DueRule {
        org_id: i64,
        channel: String,
        reason: String,
        name: String,
    }

    /// Conversations closed per transaction by the scheduler.
    const CLOSE_BATCH: i64 = 200;
    /// Deadlines written per statement when a rule changes.
    const DEADLINE_BATCH: usize = 400;

    /// A closing rule as stored.
    #[derive(sqlx::FromRow)]
    struct RuleRow {
        id: i64,
        name: String,
        enabled: i64,
        amount: i64,
        unit: String,
        reason: String,
        saved_at: EpochMs,
    }

    async fn views(db: &Db, org_id: i64, only: Option<i64>) -> Result<Vec<RuleView>, AppError> {
        let rows: Vec<RuleRow> = sqlx::query_as(
            "SELECT id, name, enabled, amount, unit, reason, saved_at FROM closing_rules \
             WHERE org_id = $1 AND ($2 = 0 OR id = $2) ORDER BY name, id",
        )
        .bind(org_id)
        .bind(only.unwrap_or(0))
        .fetch_all(&db.pool)
        .await?;
        let accounts: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT rule_id, account_id FROM closing_rule_accounts WHERE org_id = $1 \
             ORDER BY account_id",
        )
        .bind(org_id)
        .fetch_all(&db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| RuleView {
                id: row.id,
                name: row.name,
                enabled: row.enabled == 1,
                amount: row.amount,
                unit: row.unit,
                reason: row.reason,
                account_ids: accounts
                    .iter()
                    .filter(|(rule, _)| *rule == row.id)
                    .map(|(_, account)| *account)
                    .collect(),
                saved_at: row.saved_at,
            })
            .collect())
    }

    pub async fn rules() -> Result<Vec<RuleView>, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        views(&state.db, user.org_id, None).await
    }

    async fn one(db: &Db, org_id: i64, id: i64) -> Result<RuleView, AppError> {
        views(db, org_id, Some(id))
            .await?
            .pop()
            .ok_or(AppError::NotFound)
    }

    /// The enabled rule, if any, that `account_ids` other than `except`'s already belong to.
    async fn overlap(
        tx: &mut Tx<'_>,
        account_ids: &[i64],
        except: i64,
    ) -> Result<Option<String>, AppError> {
        for account in account_ids {
            let taken: Option<(String,)> = sqlx::query_as(
                "SELECT r.name FROM closing_rule_accounts ra \
                 JOIN closing_rules r ON r.id = ra.rule_id \
                 WHERE ra.account_id = $1 AND ra.enabled = 1 AND ra.rule_id <> $2",
            )
            .bind(account)
            .bind(except)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some((name,)) = taken {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }

    /// The accounts a rule applies to now (for deadlines to follow a change).
    async fn accounts_of(tx: &mut Tx<'_>, rule_id: i64) -> Result<Vec<i64>, AppError> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT account_id FROM closing_rule_accounts WHERE rule_id = $1")
                .bind(rule_id)
                .fetch_all(&mut **tx)
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn save(
        id: Option<i64>,
        name: String,
        enabled: bool,
        amount: String,
        unit: String,
        reason: String,
        mut account_ids: Vec<i64>,
    ) -> Result<RuleView, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(AppError::invalid(Field::Name, Problem::Required));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(AppError::invalid(
                Field::Name,
                Problem::TooLong {
                    max: MAX_NAME_CHARS,
                },
            ));
        }
        let inactivity = amount
            .trim()
            .parse::<i64>()
            .ok()
            .zip(Unit::from_key(&unit))
            .and_then(|(amount, unit)| Inactivity::new(amount, unit))
            .ok_or(AppError::invalid(Field::Inactivity, Problem::Malformed))?;
        let reason = valid_reason(&reason)
            .map_err(|problem| AppError::invalid(Field::CloseReason, problem))?;
        account_ids.sort_unstable();
        account_ids.dedup();
        if account_ids.is_empty() {
            return Err(AppError::invalid(Field::Account, Problem::Required));
        }
        let mut tx = state.db.begin().await?;
        for account in &account_ids {
            let ours: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM accounts WHERE id = $1 AND org_id = $2")
                    .bind(account)
                    .bind(user.org_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if ours.is_none() {
                return Err(AppError::invalid(Field::Account, Problem::Unknown));
            }
        }
        if enabled {
            if let Some(rule) = overlap(&mut tx, &account_ids, id.unwrap_or(0)).await? {
                return Err(AppError::RuleOverlap { rule });
            }
        }
        let now = EpochMs::now();
        let enabled_flag = i64::from(enabled);
        let (rule_id, before) = match id {
            Some(id) => {
                let changed = sqlx::query(
                    "UPDATE closing_rules SET name = $1, enabled = $2, amount = $3, unit = $4, \
                       reason = $5, saved_at = $6 WHERE id = $7 AND org_id = $8",
                )
                .bind(&name)
                .bind(enabled_flag)
                .bind(inactivity.amount)
                .bind(inactivity.unit.key())
                .bind(&reason)
                .bind(now)
                .bind(id)
                .bind(user.org_id)
                .execute(&mut *tx)
                .await
                .map_err(name_taken)?
                .rows_affected();
                if changed != 1 {
                    return Err(AppError::NotFound);
                }
                let before = accounts_of(&mut tx, id).await?;
                sqlx::query("DELETE FROM closing_rule_accounts WHERE rule_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                (id, before)
            }
            None => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO closing_rules (org_id, name, enabled, amount, unit, reason, \
                       saved_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                )
                .bind(user.org_id)
                .bind(&name)
                .bind(enabled_flag)
                .bind(inactivity.amount)
                .bind(inactivity.unit.key())
                .bind(&reason)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(name_taken)?;
                (id, Vec::new())
            }
        };
        for account in &account_ids {
            sqlx::query(
                "INSERT INTO closing_rule_accounts (org_id, rule_id, account_id, enabled) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(user.org_id)
            .bind(rule_id)
            .bind(account)
            .bind(enabled_flag)
            .execute(&mut *tx)
            .await
            .map_err(overlapped)?;
        }
        let touched: Vec<i64> = before.into_iter().chain(account_ids).collect();
        refresh(&mut tx, &touched).await?;
        tx.commit().await?;
        one(&state.db, user.org_id, rule_id).await
    }

    fn name_taken(err: sqlx::Error) -> AppError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AppError::invalid(Field::Name, Problem::Taken)
            }
            _ => AppError::from(err),
        }
    }

    /// Another save took the account at the same moment (the unique index decided).
    fn overlapped(err: sqlx::Error) -> AppError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => AppError::RuleOverlap {
                rule: String::new(),
            },
            _ => AppError::from(err),
        }
    }

    pub async fn switch(id: i64, enabled: bool) -> Result<RuleView, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let mut tx = state.db.begin().await?;
        let accounts = accounts_of(&mut tx, id).await?;
        if enabled {
            if let Some(rule) = overlap(&mut tx, &accounts, id).await? {
                return Err(AppError::RuleOverlap { rule });
            }
        }
        // Switched on, it counts from now: inactivity while it was off does not close.
        let changed = sqlx::query(
            "UPDATE closing_rules SET enabled = $1, saved_at = $2 WHERE id = $3 AND org_id = $4",
        )
        .bind(i64::from(enabled))
        .bind(EpochMs::now())
        .bind(id)
        .bind(user.org_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(AppError::NotFound);
        }
        sqlx::query("UPDATE closing_rule_accounts SET enabled = $1 WHERE rule_id = $2")
            .bind(i64::from(enabled))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(overlapped)?;
        refresh(&mut tx, &accounts).await?;
        tx.commit().await?;
        one(&state.db, user.org_id, id).await
    }

    pub async fn delete(id: i64) -> Result<(), AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let mut tx = state.db.begin().await?;
        let accounts = accounts_of(&mut tx, id).await?;
        sqlx::query("DELETE FROM closing_rules WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(user.org_id)
            .execute(&mut *tx)
            .await?;
        refresh(&mut tx, &accounts).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The enabled rule of `account_id`, if any.
    async fn rule_of(tx: &mut Tx<'_>, account_id: i64) -> Result<Option<ClosingRule>, AppError> {
        let row: Option<(i64, String, EpochMs)> = sqlx::query_as(
            "SELECT r.amount, r.unit, r.saved_at FROM closing_rule_accounts ra \
             JOIN closing_rules r ON r.id = ra.rule_id \
             WHERE ra.account_id = $1 AND ra.enabled = 1",
        )
        .bind(account_id)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.and_then(|(amount, unit, saved_at)| {
            let inactivity = Inactivity::new(amount, Unit::from_key(&unit)?)?;
            Some(ClosingRule {
                enabled: true,
                inactivity,
                saved_at,
            })
        }))
    }

    /// Sets the deadline of one open conversation from its account's rule (after the customer
    /// wrote, or it reopened).
    pub async fn track(
        tx: &mut Tx<'_>,
        account_id: i64,
        conversation_id: i64,
        last_incoming_at: Option<EpochMs>,
    ) -> Result<(), AppError> {
        // Without a rule there is no deadline to keep (a rule's change clears its own).
        let Some(rule) = rule_of(tx, account_id).await? else {
            return Ok(());
        };
        let deadline = close_at(&rule, last_incoming_at);
        sqlx::query(
            "UPDATE conversations SET auto_close_at = $1 WHERE id = $2 AND status = 'open'",
        )
        .bind(deadline)
        .bind(conversation_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Every open conversation of `account_ids` gets the deadline its account's rule gives it
    /// now (none without a rule).
    async fn refresh(tx: &mut Tx<'_>, account_ids: &[i64]) -> Result<(), AppError> {
        let mut accounts = account_ids.to_vec();
        accounts.sort_unstable();
        accounts.dedup();
        for account in accounts {
            let rule = rule_of(tx, account).await?;
            let rows: Vec<(i64, Option<EpochMs>, Option<EpochMs>)> = sqlx::query_as(
                "SELECT id, last_incoming_at, auto_close_at FROM conversations \
                 WHERE account_id = $1 AND status = 'open' AND deleted_at IS NULL",
            )
            .bind(account)
            .fetch_all(&mut **tx)
            .await?;
            let changed: Vec<(i64, Option<EpochMs>)> = rows
                .into_iter()
                .filter_map(|(id, last_incoming, current)| {
                    let deadline = rule.as_ref().and_then(|r| close_at(r, last_incoming));
                    (deadline != current).then_some((id, deadline))
                })
                .collect();
            for batch in changed.chunks(DEADLINE_BATCH) {
                let mut cases = String::new();
                let mut ids = Vec::new();
                for (i, _) in batch.iter().enumerate() {
                    cases.push_str(&format!(" WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2));
                    ids.push(format!("${}", 2 * i + 1));
                }
                let sql = format!(
                    "UPDATE conversations SET auto_close_at = CASE id{cases} END \
                     WHERE id IN ({})",
                    ids.join(", ")
                );
                let mut query = sqlx::query(&sql);
                for (id, deadline) in batch {
                    query = query.bind(*id).bind(*deadline);
                }
                query.execute(&mut **tx).await?;
            }
        }
        Ok(())
    }

    /// Closes every conversation whose deadline is `now` or earlier, with its rule's reason
    /// and an event saying it was automatic; answers how many. Run every few seconds, and at
    /// start-up for what fell due while the server was down. Safe with several instances: a
    /// conversation is closed by whichever gets to it first, once.
    pub async fn close_due(db: &Db, hub: &Hub, now: EpochMs) -> Result<usize, AppError> {
        let mut closed = 0;
        loop {
            // The batch size is written in, not bound, so PostgreSQL can keep one plan.
            let due: Vec<(i64,)> = sqlx::query_as(&format!(
                "SELECT id FROM conversations \
                 WHERE auto_close_at IS NOT NULL AND auto_close_at <= $1 \
                 ORDER BY auto_close_at, id LIMIT {CLOSE_BATCH}"
            ))
            .bind(now)
            .fetch_all(&db.pool)
            .await?;
            if due.is_empty() {
                return Ok(closed);
            }
            let mut tx = db.begin().await?;
            let mut published = Vec::new();
            let mut stale = 0;
            for (id,) in &due {
                let rule: Option<DueRule> = sqlx::query_as(
                    "SELECT c.org_id, a.channel, r.reason, r.name FROM conversations c \
                     JOIN accounts a ON a.id = c.account_id \
                     JOIN closing_rule_accounts ra ON ra.account_id = c.account_id \
                       AND ra.enabled = 1 \
                     JOIN closing_rules r ON r.id = ra.rule_id \
                     WHERE c.id = $1 AND c.status = 'open' AND c.deleted_at IS NULL",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(DueRule {
                    org_id,
                    channel,
                    reason,
                    name: rule_name,
                }) = rule
                else {
                    // Closed, deleted or without a rule by now: the deadline is stale.
                    sqlx::query("UPDATE conversations SET auto_close_at = NULL WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    stale += 1;
                    continue;
                };
                let row: Option<SummaryRow> = sqlx::query_as(&format!(
                    "UPDATE conversations SET status = 'closed', close_reason = $1, \
                       auto_close_at = NULL, updated_at = $2 \
                     WHERE id = $3 AND status = 'open' AND auto_close_at <= $4 \
                     RETURNING {SUMMARY_COLUMNS}"
                ))
                .bind(&reason)
                .bind(EpochMs::now())
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    continue;
                };
                let channel =
                    channels::Channel::parse(&channel).unwrap_or(channels::Channel::Whatsapp);
                let content = json!({
                    "event": "closed",
                    "reason": reason,
                    "automatic": true,
                    "rule": rule_name,
                });
                let conversation = summary(channel, row);
                published.push(
                    system_event(&mut tx, org_id, None, conversation, content, None, now).await?,
                );
            }
            let progress = published.len() + stale;
            closed += published.len();
            event_log::commit_and_publish(tx, hub, published).await?;
            // Whatever is left is being closed elsewhere at this moment.
            if progress == 0 {
                return Ok(closed);
            }
        }
    }
}
