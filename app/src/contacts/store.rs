//! Contacts in the database, as far as the inbox needs them.

#[cfg(feature = "ssr")]
pub mod ssr {
    use channels::Channel;

    use crate::auth::ssr::require;
    use crate::contacts::{ContactView, NewContact, Started};
    use crate::conversations::store::ssr::{visible_conversation, Visible};
    use crate::conversations::store::{summary, SummaryRow, SUMMARY_COLUMNS};
    use crate::conversations::{search_term, Change};
    use crate::db::{now_ms, SearchIndex};
    use crate::error::{AppError, Field, Problem};
    use crate::live;
    use crate::orgs::Tx;
    use crate::permissions::{can_start_conversation, can_use_inbox};
    use crate::state::AppState;
    use crate::validate;

    const COLUMNS: &str = "c.id, c.first_name, c.last_name, c.email, c.company, c.primary_phone, \
         c.whatsapp_phone, c.facebook_id, c.instagram_username, c.owner_id, u.name AS owner_name";

    #[derive(sqlx::FromRow)]
    struct ContactRow {
        id: i64,
        first_name: String,
        last_name: String,
        email: Option<String>,
        company: Option<String>,
        primary_phone: Option<String>,
        whatsapp_phone: Option<String>,
        facebook_id: Option<String>,
        instagram_username: Option<String>,
        owner_id: Option<i64>,
        owner_name: Option<String>,
    }

    impl ContactRow {
        fn view(self, phones: Vec<String>) -> ContactView {
            ContactView {
                id: self.id,
                first_name: self.first_name,
                last_name: self.last_name,
                email: self.email,
                company: self.company,
                primary_phone: self.primary_phone,
                whatsapp_phone: self.whatsapp_phone,
                phones,
                facebook_id: self.facebook_id,
                instagram_username: self.instagram_username,
                owner_id: self.owner_id,
                owner_name: self.owner_name,
            }
        }
    }

    /// The most a search returns.
    const FOUND: i64 = 20;

    /// Each contact's names, email, Instagram username and numbers
    /// (`migrations/*/20261205000001_contact_search.sql`).
    const CONTACT_SEARCH: SearchIndex = SearchIndex {
        table: "contact_search",
        key: "contact_id",
    };

    /// A contact of the organization, with its secondary phones.
    pub async fn by_id(
        state: &AppState,
        org_id: i64,
        contact_id: i64,
    ) -> Result<Option<ContactView>, AppError> {
        let row: Option<ContactRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM contacts c LEFT JOIN users u ON u.id = c.owner_id \
             WHERE c.id = $1 AND c.org_id = $2"
        ))
        .bind(contact_id)
        .bind(org_id)
        .fetch_optional(&state.db.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let phones: Vec<(String,)> = sqlx::query_as(
            "SELECT phone FROM contact_phones WHERE contact_id = $1 AND org_id = $2 ORDER BY id",
        )
        .bind(contact_id)
        .bind(org_id)
        .fetch_all(&state.db.pool)
        .await?;
        Ok(Some(row.view(phones.into_iter().map(|(p,)| p).collect())))
    }

    /// Contacts whose name, email, Instagram username or any number holds the query, without
    /// case or accents, in name order.
    pub async fn search(query: String) -> Result<Vec<ContactView>, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let Some(term) = search_term(&query) else {
            return Ok(Vec::new());
        };
        let mut value = String::new();
        let matching = CONTACT_SEARCH.matching(state.db.backend, "c.id", &term, |v| {
            value = v;
            "$2".to_string()
        });
        let rows: Vec<ContactRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM contacts c LEFT JOIN users u ON u.id = c.owner_id \
             WHERE c.org_id = $1 AND c.merged_into_id IS NULL AND {matching} \
             ORDER BY c.first_name, c.last_name, c.id LIMIT {FOUND}"
        ))
        .bind(user.org_id)
        .bind(value)
        .fetch_all(&state.db.pool)
        .await?;
        Ok(rows.into_iter().map(|row| row.view(Vec::new())).collect())
    }

    /// Tells every open screen that a conversation now has this contact.
    async fn linked(
        state: &AppState,
        org_id: i64,
        mut tx: Tx<'_>,
        visible: &Visible,
        contact: &ContactView,
    ) -> Result<(), AppError> {
        let row: SummaryRow = sqlx::query_as(&format!(
            "UPDATE conversations SET contact_id = $1, updated_at = $2 WHERE id = $3 \
             RETURNING {SUMMARY_COLUMNS}"
        ))
        .bind(contact.id)
        .bind(now_ms())
        .bind(visible.summary.id)
        .fetch_one(&mut *tx)
        .await?;
        let mut conversation = summary(visible.channel, row);
        conversation.contact_name = Some(contact.name()).filter(|n| !n.is_empty());
        let assignee = conversation.assignee_id;
        let event = live::append(
            &mut tx,
            org_id,
            assignee,
            &Change::ConversationUpdated {
                conversation: Box::new(conversation),
            },
        )
        .await?;
        tx.commit().await?;
        state.hub.publish([event]);
        Ok(())
    }

    pub async fn create_from_conversation(
        conversation_id: i64,
        form: NewContact,
    ) -> Result<ContactView, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        if visible.summary.contact_id.is_some() {
            return Err(AppError::invalid(Field::Contact, Problem::Taken));
        }
        let first_name = validate::name(Field::FirstName, &form.first_name)?;
        let last_name = validate::name(Field::LastName, &form.last_name)?;
        let email = match form.email.trim() {
            "" => None,
            email => Some(validate::email(email)?),
        };
        if !form.consent {
            return Err(AppError::invalid(Field::Consent, Problem::Required));
        }
        let key = visible.summary.customer_key.clone();
        // The identity the customer wrote from goes on the contact (R25, R27).
        let (phone, facebook_id, instagram_username) = match visible.channel {
            Channel::Whatsapp | Channel::Twilio => (Some(key), None, None),
            Channel::Messenger => (None, Some(key), None),
            Channel::Instagram => (None, None, visible.summary.customer_username.clone()),
        };
        let now = now_ms();
        let mut tx = state.db.begin().await?;
        if let Some(phone) = &phone {
            let taken: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM contacts WHERE org_id = $1 AND whatsapp_phone = $2 \
                 AND merged_into_id IS NULL",
            )
            .bind(user.org_id)
            .bind(phone)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_some() {
                return Err(AppError::invalid(Field::Phone, Problem::Taken));
            }
        }
        let (contact_id,): (i64,) = sqlx::query_as(
            "INSERT INTO contacts (org_id, first_name, last_name, email, primary_phone, \
             whatsapp_phone, facebook_id, instagram_username, owner_id, consent_at, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $9, $9) RETURNING id",
        )
        .bind(user.org_id)
        .bind(&first_name)
        .bind(&last_name)
        .bind(&email)
        .bind(&phone)
        .bind(&facebook_id)
        .bind(&instagram_username)
        .bind(user.id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let contact = ContactView {
            id: contact_id,
            first_name,
            last_name,
            email,
            company: None,
            primary_phone: phone.clone(),
            whatsapp_phone: phone,
            phones: Vec::new(),
            facebook_id,
            instagram_username,
            owner_id: Some(user.id),
            owner_name: Some(user.name.clone()),
        };
        linked(&state, user.org_id, tx, &visible, &contact).await?;
        Ok(contact)
    }

    pub async fn link(conversation_id: i64, contact_id: i64) -> Result<ContactView, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        let contact = by_id(&state, user.org_id, contact_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let tx = state.db.begin().await?;
        linked(&state, user.org_id, tx, &visible, &contact).await?;
        Ok(contact)
    }

    pub async fn start(contact_id: i64, account_id: i64) -> Result<Started, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let actor = user.actor();
        let contact = by_id(&state, user.org_id, contact_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !can_start_conversation(&actor, contact.owner_id) {
            return Err(AppError::Forbidden);
        }
        let account: Option<(String, String)> =
            sqlx::query_as("SELECT channel, status FROM accounts WHERE id = $1 AND org_id = $2")
                .bind(account_id)
                .bind(user.org_id)
                .fetch_optional(&state.db.pool)
                .await?;
        let (channel, status) = account.ok_or(AppError::NotFound)?;
        let channel = Channel::parse(&channel).ok_or(AppError::NotFound)?;
        // Facebook and Instagram conversations can only be started by the customer (R15).
        if matches!(channel, Channel::Messenger | Channel::Instagram) {
            return Err(AppError::Window(
                crate::window::Refusal::CustomerMustWriteFirst,
            ));
        }
        if status != "connected" {
            return Err(AppError::AccountDisconnected);
        }
        let phone: String = contact
            .whatsapp_phone
            .as_deref()
            .or(contact.primary_phone.as_deref())
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if phone.len() < 7 {
            return Err(AppError::invalid(Field::Phone, Problem::Required));
        }
        let now = now_ms();
        let mut tx = state.db.begin().await?;
        let found: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, assignee_id FROM conversations WHERE account_id = $1 AND customer_key = $2",
        )
        .bind(account_id)
        .bind(&phone)
        .fetch_optional(&mut *tx)
        .await?;
        let existed = found.is_some();
        // Whoever starts it works it, unless a colleague already does.
        let row: SummaryRow = match found {
            Some((id, assignee)) => {
                if !crate::permissions::can_see_conversation(&actor, assignee.or(Some(user.id))) {
                    return Err(AppError::Forbidden);
                }
                sqlx::query_as(&format!(
                    "UPDATE conversations SET status = 'open', deleted_at = NULL, \
                     assignee_id = COALESCE(assignee_id, $1), \
                     contact_id = COALESCE(contact_id, $2), updated_at = $3 \
                     WHERE id = $4 RETURNING {SUMMARY_COLUMNS}"
                ))
                .bind(user.id)
                .bind(contact.id)
                .bind(now)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
            }
            None => {
                sqlx::query_as(&format!(
                    "INSERT INTO conversations (org_id, account_id, customer_key, customer_name, \
                     contact_id, status, assignee_id, last_message_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $7, $7) \
                     RETURNING {SUMMARY_COLUMNS}"
                ))
                .bind(user.org_id)
                .bind(account_id)
                .bind(&phone)
                .bind(contact.name())
                .bind(contact.id)
                .bind(user.id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let mut conversation = summary(channel, row);
        conversation.contact_name = Some(contact.name()).filter(|n| !n.is_empty());
        let conversation_id = conversation.id;
        let assignee = conversation.assignee_id;
        let event = live::append(
            &mut tx,
            user.org_id,
            assignee,
            &Change::ConversationUpdated {
                conversation: Box::new(conversation),
            },
        )
        .await?;
        tx.commit().await?;
        state.hub.publish([event]);
        Ok(Started {
            conversation_id,
            existed,
        })
    }
}
