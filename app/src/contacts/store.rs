//! Contacts in the database.

#[cfg(feature = "ssr")]
pub mod ssr {
    use channels::Channel;

    use crate::auth::ssr::require;
    use crate::auth::CurrentUser;
    use crate::auto_contacts::{contact_step, ContactMode, ContactStep};
    use crate::contacts::duplicates::ssr::refresh;
    use crate::contacts::phones;
    use crate::contacts::{
        identified, ContactConversation, ContactDetail, ContactEvent, ContactField, ContactList,
        ContactQuery, ContactRow, ContactSort, ContactView, PhoneView,
    };
    use crate::db::{Backend, Db, SearchIndex};
    use crate::epoch::EpochMs;
    use crate::error::{AppError, Field, Problem};
    use crate::orgs::Tx;
    use crate::permissions::{
        can_edit_contact, can_manage_contacts, can_manage_settings, can_see_conversation,
        can_see_every_contact, can_use_contacts, can_use_inbox, Actor,
    };
    use crate::search::{is_phone_search, search_term};
    use crate::state::AppState;
    use crate::validate;

    const COLUMNS: &str = "c.id, c.first_name, c.last_name, c.email, c.company, c.primary_phone, \
         c.whatsapp_phone, c.facebook_id, c.instagram_username, c.owner_id, u.name AS owner_name";

    #[derive(sqlx::FromRow)]
    struct StoredContact {
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

    impl StoredContact {
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

    /// A search as contacts are indexed: a number by its digits, in the form numbers are kept.
    fn contact_term(query: &str) -> Option<String> {
        let term = search_term(query)?;
        Some(match is_phone_search(query) {
            true => phones::search_digits(&term),
            false => term,
        })
    }

    /// A search's words, each looked for on its own (at most five).
    fn words(term: &str) -> Vec<&str> {
        term.split_whitespace().take(5).collect()
    }

    /// A search that is a whole number, as it is kept (E.164, read in the organization's
    /// country): found by the numbers' indexes, not the search index, whose three-character
    /// pieces of digits are in a great many contacts.
    fn whole_number(query: &str, country: Option<&str>) -> Option<String> {
        is_phone_search(query)
            .then(|| phones::normalize(query, country).ok())
            .flatten()
    }

    /// A search that is a whole email address: found by the email's index.
    fn whole_email(query: &str) -> Option<String> {
        let query = query.trim();
        (query.contains('@') && !query.contains(' '))
            .then(|| validate::email(query).ok())
            .flatten()
    }

    /// The condition on contact `c` that it has the number `placeholder` holds (E.164).
    fn has_number(placeholder: &str) -> String {
        format!(
            "c.id IN (SELECT id FROM contacts WHERE org_id = $1 AND primary_phone = {placeholder} \
             UNION SELECT id FROM contacts WHERE org_id = $1 AND whatsapp_phone = {placeholder} \
             UNION SELECT contact_id FROM contact_phones WHERE org_id = $1 \
             AND phone = {placeholder})"
        )
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
        let row: Option<StoredContact> = sqlx::query_as(&format!(
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
    pub(in crate::contacts) fn reachable_by(user: &str) -> String {
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
        let Some(term) = contact_term(&query) else {
            return Ok(Vec::new());
        };
        let country = org_country(&state, user.org_id).await?;
        let mut wanted = Conditions::reachable(&user);
        wanted.searched(state.db.backend, &query, &term, country.as_deref());
        let sql = format!(
            "SELECT {COLUMNS} FROM contacts c LEFT JOIN users u ON u.id = c.owner_id \
             WHERE {} ORDER BY c.sort_name, c.id LIMIT {FOUND}",
            wanted.joined()
        );
        let found: Vec<StoredContact> = wanted.fetch_all(&state.db, &sql).await?;
        Ok(found.into_iter().map(|row| row.view(Vec::new())).collect())
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
            created_from,
        } = contact;
        if let Some(phone) = &phone {
            if whatsapp_taken(tx, owner.org_id, phone, 0).await? {
                return Err(AppError::invalid(Field::WhatsappPhone, Problem::Taken));
            }
        }
        let now = EpochMs::now();
        let (contact_id,): (i64,) = sqlx::query_as(
            "INSERT INTO contacts (org_id, first_name, last_name, email, primary_phone, \
             whatsapp_phone, facebook_id, instagram_username, owner_id, consent_at, created_at, \
             updated_at, created_by, created_from, last_activity_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $9, $9, $8, $10, $9) RETURNING id",
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
        .bind(created_from)
        .fetch_one(&mut **tx)
        .await?;
        record(
            tx,
            owner.org_id,
            contact_id,
            Some(owner.id),
            "created",
            (Some(created_from), None, None),
        )
        .await?;
        refresh(tx, owner.org_id, contact_id).await?;
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
        /// The WhatsApp number (E.164), also its primary phone.
        pub phone: Option<String>,
        pub facebook_id: Option<String>,
        pub instagram_username: Option<String>,
        /// The channel of the conversation it is made from.
        pub created_from: &'static str,
    }

    /// Rows of the contacts list per page.
    const PAGE: usize = 50;
    /// Secondary phones a contact may have.
    const MAX_PHONES: usize = 20;
    const COMPANY_MAX: usize = 200;
    const LABEL_MAX: usize = 40;

    /// The organization's country for numbers typed without a prefix.
    pub async fn org_country(state: &AppState, org_id: i64) -> Result<Option<String>, AppError> {
        let (country,): (Option<String>,) =
            sqlx::query_as("SELECT default_country FROM organizations WHERE id = $1")
                .bind(org_id)
                .fetch_one(&state.db.pool)
                .await?;
        Ok(country)
    }

    pub async fn default_country() -> Result<Option<String>, AppError> {
        let user = require(can_use_contacts).await?;
        let state = AppState::current()?;
        org_country(&state, user.org_id).await
    }

    pub async fn save_default_country(country: String) -> Result<(), AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let country = country.trim().to_ascii_uppercase();
        let country = match country.as_str() {
            "" => None,
            code if phones::known_country(code) => Some(country),
            _ => return Err(AppError::invalid(Field::Country, Problem::Unknown)),
        };
        sqlx::query("UPDATE organizations SET default_country = $1 WHERE id = $2")
            .bind(country)
            .bind(user.org_id)
            .execute(&state.db.pool)
            .await?;
        Ok(())
    }

    /// A value bound to a query built piece by piece.
    enum Arg {
        Int(i64),
        Text(String),
    }

    /// The conditions of a query over contacts (`c`) built piece by piece, with the values
    /// they bind in order.
    struct Conditions {
        conditions: Vec<String>,
        args: Vec<Arg>,
    }

    impl Conditions {
        /// The contacts of `user`'s organization they may reach, none merged into another.
        fn reachable(user: &CurrentUser) -> Conditions {
            let mut wanted = Conditions {
                conditions: vec![
                    "c.org_id = $1".to_string(),
                    "c.merged_into_id IS NULL".to_string(),
                ],
                args: vec![Arg::Int(user.org_id)],
            };
            if !can_see_every_contact(&user.actor()) {
                let me = wanted.bind(Arg::Int(user.id));
                wanted.push(reachable_by(&me));
            }
            wanted
        }

        /// Binds `arg`: its placeholder.
        fn bind(&mut self, arg: Arg) -> String {
            self.args.push(arg);
            format!("${}", self.args.len())
        }

        fn push(&mut self, condition: String) {
            self.conditions.push(condition);
        }

        /// Those a search finds (`term`, as `contact_term` reads `search`): a whole number by
        /// the numbers' indexes (read in `country`), a whole email by the email's, anything
        /// else word by word in the search index.
        fn searched(&mut self, backend: Backend, search: &str, term: &str, country: Option<&str>) {
            let condition = if let Some(number) = whole_number(search, country) {
                has_number(&self.bind(Arg::Text(number)))
            } else if let Some(email) = whole_email(search) {
                format!("c.email = {}", self.bind(Arg::Text(email)))
            } else {
                CONTACT_SEARCH
                    .matching_words(backend, "c.id", &words(term), |v| self.bind(Arg::Text(v)))
            };
            self.push(condition);
        }

        fn joined(&self) -> String {
            self.conditions.join(" AND ")
        }

        async fn fetch_all<T>(self, db: &Db, sql: &str) -> Result<Vec<T>, AppError>
        where
            T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
        {
            let mut rows = sqlx::query_as::<_, T>(sql);
            for arg in self.args {
                rows = match arg {
                    Arg::Int(value) => rows.bind(value),
                    Arg::Text(value) => rows.bind(value),
                };
            }
            Ok(rows.fetch_all(&db.pool).await?)
        }
    }

    /// A contact as the list reads it.
    #[derive(sqlx::FromRow)]
    pub(in crate::contacts) struct ListedRow {
        pub id: i64,
        pub first_name: String,
        pub last_name: String,
        pub company: Option<String>,
        pub email: Option<String>,
        pub primary_phone: Option<String>,
        pub whatsapp_phone: Option<String>,
        pub owner_name: Option<String>,
        pub last_activity_at: EpochMs,
        pub sort_name: String,
    }

    impl ListedRow {
        /// Where the page after this row starts, in `sort`'s order.
        pub fn cursor(&self, sort: ContactSort) -> (String, i64) {
            match sort {
                ContactSort::Name => (self.sort_name.clone(), self.id),
                ContactSort::Activity => (self.last_activity_at.0.to_string(), self.id),
            }
        }
    }

    /// The team's active members, by name: owners to filter by or give a contact to.
    async fn team(state: &AppState, org_id: i64) -> Result<Vec<(i64, String)>, AppError> {
        Ok(sqlx::query_as(
            "SELECT id, name FROM users WHERE org_id = $1 AND status = 'active' ORDER BY name, id",
        )
        .bind(org_id)
        .fetch_all(&state.db.pool)
        .await?)
    }

    /// A page of the contacts the caller may reach, searched, filtered and ordered; the next
    /// page starts after the row `query.after` names (keyset), whatever moved meanwhile.
    pub async fn list(query: ContactQuery) -> Result<ContactList, AppError> {
        let user = require(can_use_contacts).await?;
        let state = AppState::current()?;
        let actor = user.actor();
        let country = org_country(&state, user.org_id).await?;
        let mut rows = listed(&state, &user, &query, PAGE + 1).await?;
        let has_more = rows.len() > PAGE;
        rows.truncate(PAGE);
        let contacts = rows
            .into_iter()
            .map(|row| ContactRow {
                cursor: row.cursor(query.sort),
                id: row.id,
                phone: row
                    .primary_phone
                    .or(row.whatsapp_phone)
                    .map(|p| phones::display(&p, country.as_deref())),
                first_name: row.first_name,
                last_name: row.last_name,
                company: row.company,
                email: row.email,
                owner_name: row.owner_name,
                last_activity_at: row.last_activity_at,
            })
            .collect();
        Ok(ContactList {
            contacts,
            has_more,
            owners: team(&state, user.org_id).await?,
            may_create: can_use_contacts(&actor),
            may_manage: can_manage_contacts(&actor),
        })
    }

    /// The contacts `user` may reach that `query` asks for, at most `limit`, from where
    /// `query.after_*` says (keyset).
    pub(in crate::contacts) async fn listed(
        state: &AppState,
        user: &CurrentUser,
        query: &ContactQuery,
        limit: usize,
    ) -> Result<Vec<ListedRow>, AppError> {
        let mut wanted = Conditions::reachable(user);
        if let Some(search) = query.search.as_deref() {
            if let Some(term) = contact_term(search) {
                let country = match is_phone_search(search) {
                    true => org_country(state, user.org_id).await?,
                    false => None,
                };
                wanted.searched(state.db.backend, search, &term, country.as_deref());
            }
        }
        if let Some(owner) = query.owner {
            let owner = wanted.bind(Arg::Int(owner));
            wanted.push(format!("c.owner_id = {owner}"));
        }
        if query.open_conversation {
            wanted.push(
                "EXISTS (SELECT 1 FROM conversations v WHERE v.contact_id = c.id \
                 AND v.org_id = c.org_id AND v.status = 'open' AND v.deleted_at IS NULL)"
                    .to_string(),
            );
        }
        if query.duplicates {
            wanted.push(
                "EXISTS (SELECT 1 FROM contact_duplicates d WHERE d.contact_id = c.id \
                 AND d.dismissed_at IS NULL)"
                    .to_string(),
            );
        }
        if let Some(from) = query.created_from.clone().filter(|f| !f.is_empty()) {
            let from = wanted.bind(Arg::Text(from));
            wanted.push(format!("c.created_from = {from}"));
        }
        let order = match query.sort {
            ContactSort::Name => "c.sort_name, c.id",
            ContactSort::Activity => "c.last_activity_at DESC, c.id DESC",
        };
        if let (Some(key), Some(id)) = (query.after_key.clone(), query.after_id) {
            match query.sort {
                ContactSort::Name => {
                    let key = wanted.bind(Arg::Text(key));
                    let id = wanted.bind(Arg::Int(id));
                    wanted.push(format!("(c.sort_name, c.id) > ({key}, {id})"));
                }
                ContactSort::Activity => {
                    let at = key
                        .parse::<i64>()
                        .map_err(|_| AppError::invalid(Field::Contact, Problem::Malformed))?;
                    let at = wanted.bind(Arg::Int(at));
                    let id = wanted.bind(Arg::Int(id));
                    wanted.push(format!("(c.last_activity_at, c.id) < ({at}, {id})"));
                }
            }
        }
        let sql = format!(
            "SELECT c.id, c.first_name, c.last_name, c.company, c.email, c.primary_phone, \
                    c.whatsapp_phone, u.name AS owner_name, c.last_activity_at, c.sort_name \
             FROM contacts c LEFT JOIN users u ON u.id = c.owner_id \
             WHERE {} ORDER BY {order} LIMIT {limit}",
            wanted.joined(),
        );
        wanted.fetch_all(&state.db, &sql).await
    }

    /// The contact `contact_id` if `actor` may reach it; not found otherwise (someone who may
    /// not see it is told it does not exist).
    pub(in crate::contacts) async fn reached(
        state: &AppState,
        actor: &Actor,
        contact_id: i64,
    ) -> Result<ContactView, AppError> {
        if !reachable(state, actor, contact_id).await? {
            return Err(AppError::NotFound);
        }
        by_id(state, actor.org_id, contact_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// A contact's page; a contact merged into another leads to that one.
    pub async fn detail(contact_id: i64) -> Result<ContactDetail, AppError> {
        let user = require(can_use_contacts).await?;
        let state = AppState::current()?;
        let contact_id =
            crate::contacts::merge::ssr::survivor(&state, user.org_id, contact_id).await?;
        detail_for(&state, &user, contact_id).await
    }

    pub(in crate::contacts) async fn detail_for(
        state: &AppState,
        user: &CurrentUser,
        contact_id: i64,
    ) -> Result<ContactDetail, AppError> {
        let actor = user.actor();
        let contact = reached(state, &actor, contact_id).await?;
        let may_manage = can_manage_contacts(&actor);
        let pool = &state.db.pool;
        // What the page shows besides the fields, read at once.
        let about = sqlx::query_as::<_, (EpochMs, Option<String>, Option<String>, Option<String>)>(
            "SELECT c.created_at, u.name, c.created_from, o.default_country FROM contacts c \
             JOIN organizations o ON o.id = c.org_id \
             LEFT JOIN users u ON u.id = c.created_by WHERE c.id = $1",
        )
        .bind(contact_id)
        .fetch_one(pool);
        let phones = sqlx::query_as::<_, (i64, String, Option<String>)>(
            "SELECT id, phone, label FROM contact_phones WHERE contact_id = $1 ORDER BY id",
        )
        .bind(contact_id)
        .fetch_all(pool);
        #[derive(sqlx::FromRow)]
        struct Talk {
            id: i64,
            channel: String,
            line_name: String,
            status: String,
            assignee_id: Option<i64>,
            last_message_at: EpochMs,
            last_message_preview: Option<String>,
        }
        let talks = sqlx::query_as::<_, Talk>(
            "SELECT v.id, a.channel, a.name AS line_name, v.status, v.assignee_id, \
                    v.last_message_at, v.last_message_preview \
             FROM conversations v JOIN accounts a ON a.id = v.account_id \
             WHERE v.contact_id = $1 AND v.org_id = $2 AND v.deleted_at IS NULL \
             ORDER BY v.last_message_at DESC, v.id DESC LIMIT 100",
        )
        .bind(contact_id)
        .bind(user.org_id)
        .fetch_all(pool);
        let history = sqlx::query_as::<_, ContactEvent>(
            "SELECT e.kind, e.field, e.old_value, e.new_value, u.name AS who, e.at \
             FROM contact_events e LEFT JOIN users u ON u.id = e.user_id \
             WHERE e.contact_id = $1 ORDER BY e.id DESC LIMIT 200",
        )
        .bind(contact_id)
        .fetch_all(pool);
        let owners = async {
            match may_manage {
                true => team(state, user.org_id).await,
                false => Ok(Vec::new()),
            }
        };
        let custom = crate::contacts::custom::ssr::values(state, user.org_id, contact_id);
        let duplicates = crate::contacts::duplicates::ssr::of(state, &actor, contact_id);
        let merges = async {
            match may_manage {
                true => crate::contacts::merge::ssr::undoable(state, contact_id).await,
                false => Ok(Vec::new()),
            }
        };
        let (about, phones, talks, mut history, owners, custom, duplicates, merges) = tokio::try_join!(
            async { about.await.map_err(AppError::from) },
            async { phones.await.map_err(AppError::from) },
            async { talks.await.map_err(AppError::from) },
            async { history.await.map_err(AppError::from) },
            owners,
            custom,
            duplicates,
            merges,
        )?;
        let (created_at, created_by, created_from, country) = about;
        history.reverse();
        let display =
            |p: &Option<String>| p.as_deref().map(|p| phones::display(p, country.as_deref()));
        Ok(ContactDetail {
            primary_display: display(&contact.primary_phone),
            whatsapp_display: display(&contact.whatsapp_phone),
            phones: phones
                .into_iter()
                .map(|(id, phone, label)| PhoneView {
                    id,
                    display: phones::display(&phone, country.as_deref()),
                    phone,
                    label,
                })
                .collect(),
            custom,
            duplicates,
            merges,
            created_at,
            created_by,
            created_from,
            // Only the conversations the caller may open.
            conversations: talks
                .into_iter()
                .filter(|t| can_see_conversation(&actor, t.assignee_id))
                .filter_map(|t| {
                    Some(ContactConversation {
                        id: t.id,
                        channel: Channel::parse(&t.channel)?,
                        line_name: t.line_name,
                        open: t.status == "open",
                        last_message_at: t.last_message_at,
                        preview: t.last_message_preview,
                    })
                })
                .collect(),
            history,
            may_edit: can_edit_contact(&actor, true),
            may_manage,
            owners,
            contact,
        })
    }

    /// Records what happened to a contact.
    pub(in crate::contacts) async fn record(
        tx: &mut Tx<'_>,
        org_id: i64,
        contact_id: i64,
        user_id: Option<i64>,
        kind: &str,
        change: (Option<&str>, Option<&str>, Option<&str>),
    ) -> Result<(), AppError> {
        let (field, old_value, new_value) = change;
        sqlx::query(
            "INSERT INTO contact_events (org_id, contact_id, user_id, kind, field, old_value, \
             new_value, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(org_id)
        .bind(contact_id)
        .bind(user_id)
        .bind(kind)
        .bind(field)
        .bind(old_value)
        .bind(new_value)
        .bind(EpochMs::now())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// An optional text: empty is none.
    pub(in crate::contacts) fn optional(
        value: &str,
        field: Field,
        max: usize,
    ) -> Result<Option<String>, AppError> {
        match value.trim() {
            "" => Ok(None),
            text => validate::text(field, text, max).map(Some),
        }
    }

    /// A number typed for `field`, in E.164; empty is none.
    pub(in crate::contacts) fn phone(
        value: &str,
        field: Field,
        country: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        match value.trim() {
            "" => Ok(None),
            text => phones::normalize(text, country)
                .map(Some)
                .map_err(|problem| AppError::invalid(field, problem)),
        }
    }

    /// An Instagram username as Instagram writes it: without `@`, in lower case.
    pub(in crate::contacts) fn instagram(value: &str) -> Result<Option<String>, AppError> {
        let name = value.trim().trim_start_matches('@').to_ascii_lowercase();
        if name.is_empty() {
            return Ok(None);
        }
        let fits = name.len() <= 30
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_');
        if fits {
            Ok(Some(name))
        } else {
            Err(AppError::invalid(
                Field::InstagramUsername,
                Problem::Malformed,
            ))
        }
    }

    /// A Facebook page-scoped ID: digits.
    pub(in crate::contacts) fn facebook(value: &str) -> Result<Option<String>, AppError> {
        let id = value.trim();
        if id.is_empty() {
            return Ok(None);
        }
        if id.len() <= 64 && id.chars().all(|c| c.is_ascii_digit()) {
            Ok(Some(id.to_string()))
        } else {
            Err(AppError::invalid(Field::FacebookId, Problem::Malformed))
        }
    }

    /// Another contact of the organization already has this WhatsApp number.
    pub(in crate::contacts) async fn whatsapp_taken(
        tx: &mut Tx<'_>,
        org_id: i64,
        phone: &str,
        except: i64,
    ) -> Result<bool, AppError> {
        let taken: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM contacts WHERE org_id = $1 AND whatsapp_phone = $2 AND id <> $3 \
             AND merged_into_id IS NULL",
        )
        .bind(org_id)
        .bind(phone)
        .bind(except)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(taken.is_some())
    }

    pub async fn update(
        contact_id: i64,
        field: String,
        value: String,
    ) -> Result<ContactDetail, AppError> {
        let user = require(can_use_contacts).await?;
        let state = AppState::current()?;
        let actor = user.actor();
        let field = ContactField::from_key(&field)
            .ok_or(AppError::invalid(Field::Contact, Problem::Unknown))?;
        let current = reached(&state, &actor, contact_id).await?;
        if !can_edit_contact(&actor, true)
            || field == ContactField::Owner && !can_manage_contacts(&actor)
        {
            return Err(AppError::Forbidden);
        }
        let country = org_country(&state, user.org_id).await?;
        let mut next = current.clone();
        // The stored value, and how the history shows it.
        let stored: Option<String> = match field {
            ContactField::FirstName => {
                next.first_name = validate::name(Field::FirstName, &value)?;
                Some(next.first_name.clone())
            }
            ContactField::LastName => {
                next.last_name =
                    optional(&value, Field::LastName, validate::NAME_MAX)?.unwrap_or_default();
                Some(next.last_name.clone())
            }
            ContactField::Email => {
                next.email = match value.trim() {
                    "" => None,
                    email => Some(validate::email(email)?),
                };
                next.email.clone()
            }
            ContactField::Company => {
                next.company = optional(&value, Field::Company, COMPANY_MAX)?;
                next.company.clone()
            }
            ContactField::PrimaryPhone => {
                next.primary_phone = phone(&value, Field::Phone, country.as_deref())?;
                next.primary_phone.clone()
            }
            ContactField::WhatsappPhone => {
                next.whatsapp_phone = phone(&value, Field::WhatsappPhone, country.as_deref())?;
                next.whatsapp_phone.clone()
            }
            ContactField::FacebookId => {
                next.facebook_id = facebook(&value)?;
                next.facebook_id.clone()
            }
            ContactField::InstagramUsername => {
                next.instagram_username = instagram(&value)?;
                next.instagram_username.clone()
            }
            ContactField::Owner => {
                let owner: i64 = value
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid(Field::Owner, Problem::Unknown))?;
                let name = team(&state, user.org_id)
                    .await?
                    .into_iter()
                    .find(|(id, _)| *id == owner)
                    .map(|(_, name)| name)
                    .ok_or(AppError::invalid(Field::Owner, Problem::Unknown))?;
                next.owner_id = Some(owner);
                next.owner_name = Some(name);
                Some(owner.to_string())
            }
        };
        identified(&next).map_err(|field| AppError::invalid(field, Problem::Required))?;
        let shown = |view: &ContactView| -> Option<String> {
            match field {
                ContactField::Owner => view.owner_name.clone(),
                _ => column_value(view, field),
            }
        };
        let (before, after) = (shown(&current), shown(&next));
        if before == after {
            return detail_for(&state, &user, contact_id).await;
        }
        let mut tx = state.db.begin().await?;
        if let (ContactField::WhatsappPhone, Some(number)) = (field, &stored) {
            if whatsapp_taken(&mut tx, user.org_id, number, contact_id).await? {
                return Err(AppError::invalid(Field::WhatsappPhone, Problem::Taken));
            }
        }
        let sql = format!(
            "UPDATE contacts SET {} = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
            field.key()
        );
        let change = sqlx::query(&sql);
        let change = match field {
            ContactField::Owner => change.bind(next.owner_id),
            // The last name is a text column that is never null.
            ContactField::LastName => change.bind(Some(next.last_name.clone())),
            _ => change.bind(stored),
        };
        change
            .bind(EpochMs::now())
            .bind(contact_id)
            .bind(user.org_id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            user.org_id,
            contact_id,
            Some(user.id),
            "changed",
            (Some(field.key()), before.as_deref(), after.as_deref()),
        )
        .await?;
        refresh(&mut tx, user.org_id, contact_id).await?;
        tx.commit().await?;
        state.hub.contact_changed(user.org_id, contact_id);
        detail_for(&state, &user, contact_id).await
    }

    /// A field's value as stored, for the history.
    fn column_value(view: &ContactView, field: ContactField) -> Option<String> {
        match field {
            ContactField::FirstName => Some(view.first_name.clone()),
            ContactField::LastName => Some(view.last_name.clone()).filter(|n| !n.is_empty()),
            ContactField::Email => view.email.clone(),
            ContactField::Company => view.company.clone(),
            ContactField::PrimaryPhone => view.primary_phone.clone(),
            ContactField::WhatsappPhone => view.whatsapp_phone.clone(),
            ContactField::FacebookId => view.facebook_id.clone(),
            ContactField::InstagramUsername => view.instagram_username.clone(),
            ContactField::Owner => view.owner_id.map(|id| id.to_string()),
        }
    }

    /// The contact `contact_id`, if the caller may edit it.
    pub(in crate::contacts) async fn editable(
        state: &AppState,
        user: &CurrentUser,
        contact_id: i64,
    ) -> Result<ContactView, AppError> {
        let actor = user.actor();
        let contact = reached(state, &actor, contact_id).await?;
        if !can_edit_contact(&actor, true) {
            return Err(AppError::Forbidden);
        }
        Ok(contact)
    }

    pub async fn add_phone(
        contact_id: i64,
        number: String,
        label: Option<String>,
    ) -> Result<ContactDetail, AppError> {
        let user = require(can_use_contacts).await?;
        let state = AppState::current()?;
        let contact = editable(&state, &user, contact_id).await?;
        let country = org_country(&state, user.org_id).await?;
        let number = phone(&number, Field::Phone, country.as_deref())?
            .ok_or(AppError::invalid(Field::Phone, Problem::Required))?;
        let label = optional(label.as_deref().unwrap_or_default(), Field::Name, LABEL_MAX)?;
        let mut tx = state.db.begin().await?;
        let stored: Vec<(String,)> =
            sqlx::query_as("SELECT phone FROM contact_phones WHERE contact_id = $1")
                .bind(contact_id)
                .fetch_all(&mut *tx)
                .await?;
        let already = stored.iter().any(|(p,)| *p == number)
            || contact.primary_phone.as_deref() == Some(number.as_str())
            || contact.whatsapp_phone.as_deref() == Some(number.as_str());
        if already {
            return Err(AppError::invalid(Field::Phone, Problem::Taken));
        }
        if stored.len() >= MAX_PHONES {
            return Err(AppError::invalid(
                Field::Phone,
                Problem::TooMany { max: MAX_PHONES },
            ));
        }
        let now = EpochMs::now();
        sqlx::query(
            "INSERT INTO contact_phones (org_id, contact_id, phone, label, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user.org_id)
        .bind(contact_id)
        .bind(&number)
        .bind(&label)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE contacts SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            user.org_id,
            contact_id,
            Some(user.id),
            "phone_added",
            (Some("phones"), None, Some(number.as_str())),
        )
        .await?;
        refresh(&mut tx, user.org_id, contact_id).await?;
        tx.commit().await?;
        state.hub.contact_changed(user.org_id, contact_id);
        detail_for(&state, &user, contact_id).await
    }

    pub async fn remove_phone(contact_id: i64, phone_id: i64) -> Result<ContactDetail, AppError> {
        let user = require(can_use_contacts).await?;
        let state = AppState::current()?;
        editable(&state, &user, contact_id).await?;
        let mut tx = state.db.begin().await?;
        let removed: Option<(String,)> = sqlx::query_as(
            "DELETE FROM contact_phones WHERE id = $1 AND contact_id = $2 AND org_id = $3 \
             RETURNING phone",
        )
        .bind(phone_id)
        .bind(contact_id)
        .bind(user.org_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (number,) = removed.ok_or(AppError::NotFound)?;
        record(
            &mut tx,
            user.org_id,
            contact_id,
            Some(user.id),
            "phone_removed",
            (Some("phones"), Some(number.as_str()), None),
        )
        .await?;
        refresh(&mut tx, user.org_id, contact_id).await?;
        tx.commit().await?;
        state.hub.contact_changed(user.org_id, contact_id);
        detail_for(&state, &user, contact_id).await
    }

    pub async fn create(
        first_name: String,
        last_name: String,
        number: String,
        email: String,
        company: String,
    ) -> Result<i64, AppError> {
        let user = require(can_use_contacts).await?;
        let state = AppState::current()?;
        let country = org_country(&state, user.org_id).await?;
        let contact = ContactView {
            id: 0,
            first_name: validate::name(Field::FirstName, &first_name)?,
            last_name: optional(&last_name, Field::LastName, validate::NAME_MAX)?
                .unwrap_or_default(),
            email: match email.trim() {
                "" => None,
                email => Some(validate::email(email)?),
            },
            company: optional(&company, Field::Company, COMPANY_MAX)?,
            primary_phone: phone(&number, Field::Phone, country.as_deref())?,
            whatsapp_phone: None,
            phones: Vec::new(),
            facebook_id: None,
            instagram_username: None,
            owner_id: Some(user.id),
            owner_name: None,
        };
        identified(&contact).map_err(|field| AppError::invalid(field, Problem::Required))?;
        let now = EpochMs::now();
        let mut tx = state.db.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO contacts (org_id, first_name, last_name, email, company, primary_phone, \
             owner_id, created_by, created_from, last_activity_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 'contacts', $8, $8, $8) RETURNING id",
        )
        .bind(user.org_id)
        .bind(&contact.first_name)
        .bind(&contact.last_name)
        .bind(&contact.email)
        .bind(&contact.company)
        .bind(&contact.primary_phone)
        .bind(user.id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        record(
            &mut tx,
            user.org_id,
            id,
            Some(user.id),
            "created",
            (Some("contacts"), None, None),
        )
        .await?;
        refresh(&mut tx, user.org_id, id).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn delete(contact_id: i64) -> Result<(), AppError> {
        let user = require(can_manage_contacts).await?;
        let state = AppState::current()?;
        reached(&state, &user.actor(), contact_id).await?;
        let mut tx = state.db.begin().await?;
        // The contacts merged into it go with it (their links led to it).
        let gone: Vec<(i64,)> = sqlx::query_as(
            "WITH RECURSIVE gone (id) AS (SELECT CAST($1 AS BIGINT) UNION \
             SELECT c.id FROM contacts c JOIN gone g ON c.merged_into_id = g.id) \
             SELECT id FROM gone",
        )
        .bind(contact_id)
        .fetch_all(&mut *tx)
        .await?;
        let gone = gone
            .iter()
            .map(|(id,)| id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        // What refers to them stays, without them.
        for table in [
            "conversations",
            "deals",
            "tasks",
            "activities",
            "call_logs",
            "notes",
        ] {
            // The ids were read from the database just above.
            sqlx::query(&format!(
                "UPDATE {table} SET contact_id = NULL WHERE contact_id IN ({gone}) AND org_id = $1"
            ))
            .bind(user.org_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(&format!(
            "DELETE FROM contacts WHERE id IN ({gone}) AND org_id = $1"
        ))
        .bind(user.org_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        state.hub.contact_changed(user.org_id, contact_id);
        Ok(())
    }

    /// A contact an import just inserted: the start of its history, and its possible
    /// duplicates.
    pub async fn after_import(
        tx: &mut Tx<'_>,
        org_id: i64,
        contact_id: i64,
    ) -> Result<(), AppError> {
        record(
            tx,
            org_id,
            contact_id,
            None,
            "created",
            (Some("import"), None, None),
        )
        .await?;
        refresh(tx, org_id, contact_id).await
    }

    /// The contact that has a customer's identity, as one scalar subquery of organization
    /// `org` and identity `identity` (placeholders): for a number (E.164), the contact whose
    /// WhatsApp phone it is, else whose primary phone, else one of whose secondary phones; for
    /// Messenger its page-scoped id, for Instagram its username. Ingest writes it into the
    /// conversation's row as it opens it.
    pub fn identity_lookup(channel: Channel, org: &str, identity: &str) -> String {
        match channel {
            Channel::Whatsapp | Channel::Twilio => format!(
                "(SELECT id FROM (\
                   SELECT id, 0 AS rank FROM contacts WHERE org_id = {org} \
                     AND whatsapp_phone = {identity} AND merged_into_id IS NULL \
                   UNION ALL SELECT id, 1 AS rank FROM contacts \
                     WHERE org_id = {org} AND primary_phone = {identity} \
                     AND merged_into_id IS NULL \
                   UNION ALL SELECT c.id, 2 AS rank FROM contact_phones p \
                     JOIN contacts c ON c.id = p.contact_id \
                     WHERE p.org_id = {org} AND p.phone = {identity} \
                     AND c.merged_into_id IS NULL\
                 ) found ORDER BY rank, id LIMIT 1)"
            ),
            Channel::Messenger => format!(
                "(SELECT MIN(id) FROM contacts WHERE org_id = {org} \
                 AND facebook_id = {identity} AND merged_into_id IS NULL)"
            ),
            Channel::Instagram => format!(
                "(SELECT MIN(id) FROM contacts WHERE org_id = {org} \
                 AND instagram_username = {identity} AND merged_into_id IS NULL)"
            ),
        }
    }

    /// Whether the contact `contact` (an expression) has no WhatsApp phone yet, as 1 or 0:
    /// a number it was found by may become its WhatsApp phone.
    pub fn lacks_whatsapp(contact: &str) -> String {
        format!(
            "(SELECT CAST(COUNT(*) AS BIGINT) FROM contacts k \
             WHERE k.id = {contact} AND k.whatsapp_phone IS NULL)"
        )
    }

    /// The contact that has a customer's identity (`identity_lookup`), with whether it has
    /// no WhatsApp phone yet (the number may be learned then).
    async fn with_identity(
        tx: &mut Tx<'_>,
        org_id: i64,
        channel: Channel,
        identity: &str,
    ) -> Result<Option<(i64, bool)>, AppError> {
        let sql = format!(
            "SELECT c.id, {} FROM contacts c WHERE c.id = {}",
            lacks_whatsapp("c.id"),
            identity_lookup(channel, "$1", "$2")
        );
        let found: Option<(i64, i64)> = sqlx::query_as(&sql)
            .bind(org_id)
            .bind(identity)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(found.map(|(id, lacks)| (id, lacks > 0)))
    }

    /// The contact in the CRM that has the identity (`identity`: E.164 number, page-scoped id
    /// or username; empty when there is none) of a customer opening a conversation, when the
    /// account's contact `mode` links them: with whether it has no WhatsApp phone yet.
    pub async fn known_customer(
        tx: &mut Tx<'_>,
        org_id: i64,
        mode: ContactMode,
        channel: Channel,
        identity: &str,
    ) -> Result<Option<(i64, bool)>, AppError> {
        if mode == ContactMode::Off || identity.is_empty() {
            return Ok(None);
        }
        with_identity(tx, org_id, channel, identity).await
    }

    /// The contact of a customer who opened a conversation, as the account's contact mode
    /// says (`auto_contacts`), once `known` (`known_customer`, or the lookup ingest makes as it
    /// opens the conversation) says who has their identity: that one, learning the number
    /// (found by a primary or secondary phone, it becomes the contact's WhatsApp phone when
    /// it has none), or one made from their profile `name` (`create` mode).
    pub async fn settle_new_conversation(
        tx: &mut Tx<'_>,
        org_id: i64,
        mode: ContactMode,
        channel: Channel,
        identity: &str,
        name: Option<&str>,
        known: Option<(i64, bool)>,
    ) -> Result<Option<i64>, AppError> {
        let (found, learn) = match known {
            Some((id, learn)) => (Some(id), learn),
            None => (None, false),
        };
        match contact_step(mode, found, !identity.is_empty()) {
            ContactStep::Leave => Ok(None),
            ContactStep::Link(contact_id) => {
                // A contact with a WhatsApp phone (the one it was found by, or another one)
                // learns nothing.
                if learn && matches!(channel, Channel::Whatsapp | Channel::Twilio) {
                    learn_whatsapp(tx, org_id, contact_id, identity).await?;
                }
                Ok(Some(contact_id))
            }
            // Facebook and Instagram give the name with the profile, looked up after the
            // first message: the contact is made then (`after_profile`).
            ContactStep::Create
                if name.is_none_or(|n| n.trim().is_empty())
                    && matches!(channel, Channel::Messenger | Channel::Instagram) =>
            {
                Ok(None)
            }
            ContactStep::Create => {
                let name = name
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(identity);
                let (first, last) = match name.split_once(' ') {
                    Some((first, last)) => (first.to_string(), last.trim().to_string()),
                    None => (name.to_string(), String::new()),
                };
                let (phone, facebook_id, instagram) = match channel {
                    Channel::Whatsapp | Channel::Twilio => (Some(identity), None, None),
                    Channel::Messenger => (None, Some(identity), None),
                    Channel::Instagram => (None, None, Some(identity)),
                };
                let now = EpochMs::now();
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO contacts (org_id, first_name, last_name, primary_phone, \
                     whatsapp_phone, facebook_id, instagram_username, created_from, \
                     last_activity_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $8, $8) RETURNING id",
                )
                .bind(org_id)
                .bind(&first)
                .bind(&last)
                .bind(phone)
                .bind(facebook_id)
                .bind(instagram)
                .bind(channel.as_str())
                .bind(now)
                .fetch_one(&mut **tx)
                .await?;
                record(
                    tx,
                    org_id,
                    id,
                    None,
                    "created",
                    (Some(channel.as_str()), None, None),
                )
                .await?;
                refresh(tx, org_id, id).await?;
                Ok(Some(id))
            }
        }
    }

    /// A number the contact answered from becomes its WhatsApp phone, if it has none and no
    /// other contact has it (R26); written in its history.
    pub async fn learn_whatsapp(
        tx: &mut Tx<'_>,
        org_id: i64,
        contact_id: i64,
        phone: &str,
    ) -> Result<(), AppError> {
        learn(
            tx,
            org_id,
            contact_id,
            ContactField::WhatsappPhone,
            phone,
            None,
        )
        .await
    }

    /// The identity a conversation's customer wrote from goes on the contact it is linked to
    /// (`by`, who linked it): their number as its WhatsApp phone, their page-scoped id as its
    /// Facebook ID, their username as its Instagram username, wherever the contact has none
    /// and no other contact has it (R27, R28).
    pub async fn take_identity(
        tx: &mut Tx<'_>,
        org_id: i64,
        contact_id: i64,
        channel: Channel,
        customer_key: &str,
        username: Option<&str>,
        by: i64,
    ) -> Result<(), AppError> {
        let (field, value) = match channel {
            Channel::Whatsapp | Channel::Twilio => (
                ContactField::WhatsappPhone,
                phones::from_whatsapp(customer_key).unwrap_or_default(),
            ),
            Channel::Messenger => (ContactField::FacebookId, customer_key.to_string()),
            Channel::Instagram => (
                ContactField::InstagramUsername,
                username.unwrap_or_default().to_string(),
            ),
        };
        learn(tx, org_id, contact_id, field, &value, Some(by)).await
    }

    /// Sets `field` (a unique identity of the contact) to `value` where it is empty and no
    /// other contact has it; written in the history.
    async fn learn(
        tx: &mut Tx<'_>,
        org_id: i64,
        contact_id: i64,
        field: ContactField,
        value: &str,
        by: Option<i64>,
    ) -> Result<(), AppError> {
        if value.is_empty() {
            return Ok(());
        }
        let column = field.key();
        let learned = sqlx::query(&format!(
            "UPDATE contacts SET {column} = $1 WHERE id = $2 AND org_id = $3 \
             AND {column} IS NULL AND NOT EXISTS (SELECT 1 FROM contacts o \
               WHERE o.org_id = $3 AND o.{column} = $1 AND o.merged_into_id IS NULL)"
        ))
        .bind(value)
        .bind(contact_id)
        .bind(org_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if learned > 0 {
            record(
                tx,
                org_id,
                contact_id,
                by,
                "learned",
                (Some(column), None, Some(value)),
            )
            .await?;
            refresh(tx, org_id, contact_id).await?;
        }
        Ok(())
    }

    /// Once a Facebook or Instagram customer's profile is known: a conversation without a
    /// contact is linked to the contact with their page-scoped id or username, or gets one
    /// made with their name, as its account's contact mode says (Instagram's username only
    /// arrives with the profile). The contact it now has, if it changed.
    pub async fn after_profile(
        tx: &mut Tx<'_>,
        org_id: i64,
        customer: ProfiledCustomer<'_>,
        name: Option<&str>,
    ) -> Result<Option<i64>, AppError> {
        let channel = customer.channel;
        if customer.contact_id.is_some()
            || !matches!(channel, Channel::Messenger | Channel::Instagram)
        {
            return Ok(None);
        }
        let identity = match channel {
            Channel::Instagram => customer.username.unwrap_or_default(),
            _ => customer.key,
        };
        let (mode,): (String,) = sqlx::query_as("SELECT contact_mode FROM accounts WHERE id = $1")
            .bind(customer.account_id)
            .fetch_one(&mut **tx)
            .await?;
        let mode = ContactMode::from_key(&mode).unwrap_or_default();
        let known = known_customer(tx, org_id, mode, channel, identity).await?;
        let contact =
            settle_new_conversation(tx, org_id, mode, channel, identity, name, known).await?;
        if let Some(contact) = contact {
            sqlx::query(
                "UPDATE conversations SET contact_id = $1 WHERE id = $2 AND contact_id IS NULL",
            )
            .bind(contact)
            .bind(customer.conversation_id)
            .execute(&mut **tx)
            .await?;
        }
        Ok(contact)
    }

    /// A conversation's customer whose profile just arrived.
    pub struct ProfiledCustomer<'a> {
        pub conversation_id: i64,
        pub account_id: i64,
        pub channel: Channel,
        /// Their page-scoped or Instagram-scoped id.
        pub key: &'a str,
        pub username: Option<&'a str>,
        pub contact_id: Option<i64>,
    }
}
