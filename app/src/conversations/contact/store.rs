//! Tying a conversation to a contact in the database.

#[cfg(feature = "ssr")]
pub mod ssr {
    use channels::Channel;

    use crate::auth::ssr::require;
    use crate::contacts::ssr::NewContactRecord;
    use crate::contacts::{self, ContactView, NewContact};
    use crate::conversations::contact::Started;
    use crate::conversations::store::ssr::{visible_conversation, Visible};
    use crate::conversations::store::{summary, SummaryRow, SUMMARY_COLUMNS};
    use crate::conversations::Change;
    use crate::epoch::EpochMs;
    use crate::error::{AppError, Field, Problem};
    use crate::event_log;
    use crate::orgs::Tx;
    use crate::permissions::{can_start_conversation, can_use_inbox};
    use crate::state::AppState;
    use crate::validate;

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
        .bind(EpochMs::now())
        .bind(visible.summary.id)
        .fetch_one(&mut *tx)
        .await?;
        let mut conversation = summary(visible.channel, row);
        conversation.contact_name = Some(contact.name()).filter(|n| !n.is_empty());
        let assignee = conversation.assignee_id;
        let change = Change::ConversationUpdated {
            conversation: Box::new(conversation),
        };
        event_log::commit_change(tx, &state.hub, org_id, assignee, &change).await
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
        // The identity the customer wrote from goes on the contact.
        let (phone, facebook_id, instagram_username) = match visible.channel {
            Channel::Whatsapp | Channel::Twilio => {
                (contacts::ssr::phones::from_whatsapp(&key), None, None)
            }
            Channel::Messenger => (None, Some(key), None),
            Channel::Instagram => (None, None, visible.summary.customer_username.clone()),
        };
        let mut tx = state.db.begin().await?;
        let record = NewContactRecord {
            first_name,
            last_name,
            email,
            phone,
            facebook_id,
            instagram_username,
            created_from: visible.channel.as_str(),
        };
        let contact = contacts::ssr::insert(&mut tx, &user, record).await?;
        linked(&state, user.org_id, tx, &visible, &contact).await?;
        Ok(contact)
    }

    pub async fn link(conversation_id: i64, contact_id: i64) -> Result<ContactView, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        // Only a contact the user could find: the same answer as for one that does not exist.
        if !contacts::ssr::reachable(&state, &user.actor(), contact_id).await? {
            return Err(AppError::NotFound);
        }
        let contact = contacts::ssr::by_id(&state, user.org_id, contact_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut tx = state.db.begin().await?;
        contacts::ssr::take_identity(
            &mut tx,
            user.org_id,
            contact_id,
            visible.channel,
            &visible.summary.customer_key,
            visible.summary.customer_username.as_deref(),
            user.id,
        )
        .await?;
        linked(&state, user.org_id, tx, &visible, &contact).await?;
        // As it now is, with the identity it took.
        contacts::ssr::by_id(&state, user.org_id, contact_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn start(contact_id: i64, account_id: i64) -> Result<Started, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let actor = user.actor();
        let contact = contacts::ssr::by_id(&state, user.org_id, contact_id)
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
        // Facebook and Instagram conversations can only be started by the customer.
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
        let now = EpochMs::now();
        let mut tx = state.db.begin().await?;
        // The contact's own conversation on this line first: WhatsApp may know the customer
        // by another form of the number (Mexico's `521…`).
        let found: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, assignee_id FROM conversations WHERE account_id = $1 \
             AND (customer_key = $2 OR contact_id = $3) \
             ORDER BY CASE WHEN contact_id = $3 THEN 0 ELSE 1 END, id LIMIT 1",
        )
        .bind(account_id)
        .bind(&phone)
        .bind(contact.id)
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
        let change = Change::ConversationUpdated {
            conversation: Box::new(conversation),
        };
        event_log::commit_change(tx, &state.hub, user.org_id, assignee, &change).await?;
        Ok(Started {
            conversation_id,
            existed,
        })
    }
}
