//! Contacts in the database.

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::auth::ssr::require;
    use crate::auth::CurrentUser;
    use crate::contacts::ContactView;
    use crate::db::SearchIndex;
    use crate::epoch::EpochMs;
    use crate::error::{AppError, Field, Problem};
    use crate::orgs::Tx;
    use crate::permissions::{can_see_every_contact, can_use_inbox, Actor};
    use crate::search::search_term;
    use crate::state::AppState;

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

    /// The condition on contact `c` that user `user` (a placeholder) owns it or is given one
    /// of its conversations: what a user without `can_see_every_contact` reaches.
    fn reachable_by(user: &str) -> String {
        format!(
            "(c.owner_id = {user} OR EXISTS (SELECT 1 FROM conversations v \
             WHERE v.org_id = c.org_id AND v.contact_id = c.id AND v.assignee_id = {user}))"
        )
    }

    /// Whether `actor` may reach contact `contact_id` (see `reachable_by`).
    pub async fn reachable(
        state: &AppState,
        actor: &Actor,
        contact_id: i64,
    ) -> Result<bool, AppError> {
        if can_see_every_contact(actor) {
            return Ok(true);
        }
        let found: Option<(i64,)> = sqlx::query_as(&format!(
            "SELECT c.id FROM contacts c WHERE c.id = $1 AND c.org_id = $2 AND {}",
            reachable_by("$3")
        ))
        .bind(contact_id)
        .bind(actor.org_id)
        .bind(actor.user_id)
        .fetch_optional(&state.db.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Contacts whose name, email, Instagram username or any number holds the query, without
    /// case or accents, in name order; only those the user may reach.
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
        let every = can_see_every_contact(&user.actor());
        let reachable = if every {
            String::new()
        } else {
            format!("AND {}", reachable_by("$3"))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM contacts c LEFT JOIN users u ON u.id = c.owner_id \
             WHERE c.org_id = $1 AND c.merged_into_id IS NULL AND {matching} {reachable} \
             ORDER BY c.first_name, c.last_name, c.id LIMIT {FOUND}"
        );
        let mut found = sqlx::query_as::<_, ContactRow>(&sql)
            .bind(user.org_id)
            .bind(value);
        if !every {
            found = found.bind(user.id);
        }
        let rows = found.fetch_all(&state.db.pool).await?;
        Ok(rows.into_iter().map(|row| row.view(Vec::new())).collect())
    }

    /// A new contact of the organization, owned by `owner`: the identity the customer wrote
    /// from goes on it. A WhatsApp number already on another contact is refused.
    pub async fn insert(
        tx: &mut Tx<'_>,
        owner: &CurrentUser,
        contact: NewContactRecord,
    ) -> Result<ContactView, AppError> {
        let NewContactRecord {
            first_name,
            last_name,
            email,
            phone,
            facebook_id,
            instagram_username,
        } = contact;
        if let Some(phone) = &phone {
            let taken: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM contacts WHERE org_id = $1 AND whatsapp_phone = $2 \
                 AND merged_into_id IS NULL",
            )
            .bind(owner.org_id)
            .bind(phone)
            .fetch_optional(&mut **tx)
            .await?;
            if taken.is_some() {
                return Err(AppError::invalid(Field::Phone, Problem::Taken));
            }
        }
        let now = EpochMs::now();
        let (contact_id,): (i64,) = sqlx::query_as(
            "INSERT INTO contacts (org_id, first_name, last_name, email, primary_phone, \
             whatsapp_phone, facebook_id, instagram_username, owner_id, consent_at, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $9, $9) RETURNING id",
        )
        .bind(owner.org_id)
        .bind(&first_name)
        .bind(&last_name)
        .bind(&email)
        .bind(&phone)
        .bind(&facebook_id)
        .bind(&instagram_username)
        .bind(owner.id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        Ok(ContactView {
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
            owner_id: Some(owner.id),
            owner_name: Some(owner.name.clone()),
        })
    }

    /// A contact to insert, its fields already checked; the customer agreed to it being kept.
    pub struct NewContactRecord {
        pub first_name: String,
        pub last_name: String,
        pub email: Option<String>,
        /// The WhatsApp number, also its primary phone.
        pub phone: Option<String>,
        pub facebook_id: Option<String>,
        pub instagram_username: Option<String>,
    }
}
