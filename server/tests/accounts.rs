//! Organizations, logins, invitations, roles and deactivation, through the real server on both
//! databases.

mod common;

use common::{role_id, Backend, Client, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    first_run_setup_creates_the_organization_and_signs_the_admin_in,
    setup_with_bad_input_explains_each_field_and_creates_nothing,
    setup_needs_the_printed_token_and_happens_once,
    wrong_password_is_refused_and_the_right_one_rotates_the_session,
    repeated_failures_make_the_account_wait_longer_each_time,
    repeated_failures_from_one_address_lock_every_account,
    invited_seller_sets_a_password_and_signs_in_once,
    expired_and_unknown_invitations_are_refused,
    invitations_with_bad_input_create_nobody,
    role_change_takes_effect_on_the_next_request,
    deactivated_user_loses_access_at_once,
    sessions_last_from_the_last_visit,
    users_of_another_organization_are_out_of_reach,
    custom_role_grants_exactly_its_permissions,
    managing_users_gives_no_authority_beyond_ones_own,
    profile_changes_name_language_sound_and_password,
    editor_gets_a_forbidden_page_for_the_inbox,
    cross_origin_state_changes_are_refused,
    pages_follow_the_browser_language_until_the_user_chooses,
);

async fn first_run_setup_creates_the_organization_and_signs_the_admin_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let visitor = server.client();
    assert_eq!(visitor.json("needs_setup", &[]).await, json!(true));
    assert_eq!(visitor.me().await, Value::Null);

    let admin = server.setup_admin().await;
    let me = admin.me().await;
    assert_eq!(me["email"], "ana@andinas.example");
    assert_eq!(me["org_name"], "Ventas Andinas");
    assert_eq!(me["role"]["builtin"], "Administrator");
    assert_eq!(visitor.json("needs_setup", &[]).await, json!(false));

    // Setup happens once; a second attempt is refused and changes nothing.
    let (status, error) = server
        .client()
        .error(
            "setup",
            &[
                ("token", common::TEST_SETUP_TOKEN),
                ("organization", "Otra"),
                ("name", "Intrusa"),
                ("email", "otra@example.com"),
                ("password", "clave-segura-2"),
                ("language", "es"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error, json!("AlreadySetUp"));
    let location = server
        .client()
        .login("otra@example.com", "clave-segura-2")
        .await;
    assert!(location.starts_with("/login?error=credentials"));
    server.stop().await;
}

async fn setup_with_bad_input_explains_each_field_and_creates_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let client = server.client();
    let attempt = |organization: &'static str, email: &'static str, password: &'static str| {
        let client = &client;
        async move {
            client
                .error(
                    "setup",
                    &[
                        ("token", common::TEST_SETUP_TOKEN),
                        ("organization", organization),
                        ("name", "Ana"),
                        ("email", email),
                        ("password", password),
                        ("language", "es"),
                    ],
                )
                .await
        }
    };
    let (status, error) = attempt("  ", "ana@example.com", "clave-segura-1").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Organization", "problem": "Required"}})
    );
    let (_, error) = attempt("Ventas", "ana-at-example.com", "clave-segura-1").await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Email", "problem": "Malformed"}})
    );
    let (_, error) = attempt("Ventas", "ana@example.com", "corta").await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Password", "problem": {"TooShort": {"min": 8}}}})
    );
    let long_name: &'static str = Box::leak("x".repeat(101).into_boxed_str());
    let (_, error) = attempt(long_name, "ana@example.com", "clave-segura-1").await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Organization", "problem": {"TooLong": {"max": 100}}}})
    );
    assert_eq!(client.json("needs_setup", &[]).await, json!(true));
    server.stop().await;
}

/// Whoever reaches a fresh installation first cannot make themselves its administrator:
/// setup takes the token the server printed (drawn and kept in the database when the
/// operator chose none), only once, and two setups at once create one organization.
async fn setup_needs_the_printed_token_and_happens_once(backend: Backend) {
    let server = TestServer::start_with(
        backend,
        buzon_server::config::ServeArgs {
            setup_token: Some(String::new()),
            ..Default::default()
        },
    )
    .await;
    let db = server.db.connect().await;
    let (token,): (String,) = sqlx::query_as("SELECT token FROM setup_token")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(token.len(), 64, "{token}");
    let form = |token: &'static str, email: &'static str| {
        vec![
            ("token", token),
            ("organization", "Ventas Andinas"),
            ("name", "Ana"),
            ("email", email),
            ("password", "clave-segura-1"),
            ("language", "es"),
        ]
    };
    let token: &'static str = Box::leak(token.into_boxed_str());
    for wrong in ["", "prueba-de-instalacion", &token[..63]] {
        let (status, error) = server
            .client()
            .error("setup", &form(wrong, "intrusa@example.com"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong:?}");
        assert_eq!(
            error,
            json!({"Invalid": {"field": "SetupToken", "problem": "Wrong"}})
        );
    }
    assert_eq!(server.client().json("needs_setup", &[]).await, json!(true));

    // Two setups at once with the right token: one organization, one administrator.
    let (a, b) = (server.client(), server.client());
    let (ana, bruno) = (
        form(token, "ana@andinas.example"),
        form(token, "bruno@andinas.example"),
    );
    let (first, second) = tokio::join!(a.call("setup", &ana), b.call("setup", &bruno));
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let (organizations, users, tokens): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM organizations), (SELECT COUNT(*) FROM users), \
         (SELECT COUNT(*) FROM setup_token)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((organizations, users, tokens), (1, 1, 0));
    server.stop().await;
}

async fn wrong_password_is_refused_and_the_right_one_rotates_the_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.setup_admin().await;
    let client = server.client();
    let location = client.login("ana@andinas.example", "no-es-la-clave").await;
    assert_eq!(
        location,
        "/login?error=credentials&email=ana%40andinas.example"
    );
    assert_eq!(client.me().await, Value::Null);

    assert_eq!(
        client
            .login("  ANA@andinas.example ", "clave-segura-1")
            .await,
        "/"
    );
    let first = client
        .session_cookie()
        .expect("a session cookie after login");
    assert_eq!(client.me().await["name"], "Ana Admin");
    // Logging in again on the same browser issues a new session id; the old one is dead, so
    // an id planted or leaked before login is worthless afterwards.
    assert_eq!(
        client.login("ana@andinas.example", "clave-segura-1").await,
        "/"
    );
    let second = client.session_cookie().unwrap();
    assert_ne!(first, second);
    let planted = server.client();
    planted.set_session_cookie(&first);
    assert_eq!(planted.me().await, Value::Null);
    assert_eq!(client.me().await["name"], "Ana Admin");

    // Logging out ends the session on the server, not only in the browser.
    let stolen = client.session_cookie().unwrap();
    let response = client.http_post_form("/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(client.me().await, Value::Null);
    let thief = server.client();
    thief.set_session_cookie(&stolen);
    assert_eq!(thief.me().await, Value::Null);
    server.stop().await;
}

/// Past five free failures each try waits, longer after each further failure; nothing is a
/// lockout of a quarter of an hour any more.
async fn repeated_failures_make_the_account_wait_longer_each_time(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.setup_admin().await;
    let client = server.client();
    for _ in 0..5 {
        let location = client.login("ana@andinas.example", "adivinando").await;
        assert!(
            location.starts_with("/login?error=credentials"),
            "{location}"
        );
    }
    // Even the right password waits now, five seconds, and the page says so.
    let location = client.login("ana@andinas.example", "clave-segura-1").await;
    assert!(
        location.starts_with("/login?error=rate_limited"),
        "{location}"
    );
    assert!(location.ends_with("&retry=5"), "{location}");
    assert_eq!(client.me().await, Value::Null);

    // Once the wait is over, one more wrong try, and the next wait is twice as long.
    let db = server.db.connect().await;
    let pass_the_wait = || async {
        sqlx::query("UPDATE login_throttle SET next_at = next_at - 10 * 60 * 1000")
            .execute(&db.pool)
            .await
            .unwrap();
    };
    pass_the_wait().await;
    assert!(client
        .login("ana@andinas.example", "adivinando")
        .await
        .starts_with("/login?error=credentials"));
    let location = client.login("ana@andinas.example", "clave-segura-1").await;
    assert!(location.ends_with("&retry=10"), "{location}");

    // The right password after the wait signs in and clears the account's failures.
    pass_the_wait().await;
    assert_eq!(
        client.login("ana@andinas.example", "clave-segura-1").await,
        "/"
    );
    for _ in 0..5 {
        assert!(server
            .client()
            .login("ana@andinas.example", "adivinando")
            .await
            .starts_with("/login?error=credentials"));
    }
    server.stop().await;
}

async fn repeated_failures_from_one_address_lock_every_account(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.setup_admin().await;
    let client = server.client();
    for n in 0..20 {
        let location = client.login(&format!("nadie{n}@example.com"), "x").await;
        assert!(
            location.starts_with("/login?error=credentials"),
            "{location}"
        );
    }
    let location = client.login("ana@andinas.example", "clave-segura-1").await;
    assert!(
        location.starts_with("/login?error=rate_limited"),
        "{location}"
    );
    server.stop().await;
}

async fn invited_seller_sets_a_password_and_signs_in_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let seller_role = role_id(&admin, "seller").await;
    let outcome = admin
        .json(
            "invite_user",
            &[
                ("email", "Sergio@Andinas.example"),
                ("role_id", &seller_role.to_string()),
            ],
        )
        .await;
    assert_eq!(outcome["email"], "sergio@andinas.example");
    let link = outcome["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/invite/", server.base)),
        "{link}"
    );
    let token = link.rsplit('/').next().unwrap();

    // The pending user is listed, and cannot log in before choosing a password.
    let team = admin.json("team", &[]).await;
    let pending = member(&team, "sergio@andinas.example");
    assert_eq!(pending["status"], "Invited");
    let invitee = server.client();
    assert!(invitee
        .login("sergio@andinas.example", "")
        .await
        .starts_with("/login?error=missing"));

    let details = invitee.json("load_invite", &[("token", token)]).await;
    assert_eq!(details["email"], "sergio@andinas.example");
    assert_eq!(details["org_name"], "Ventas Andinas");
    let (_, error) = invitee
        .error(
            "accept_invite",
            &[("token", token), ("name", ""), ("password", "vendedor-123")],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Name", "problem": "Required"}})
    );
    let response = invitee
        .call(
            "accept_invite",
            &[
                ("token", token),
                ("name", "Sergio"),
                ("password", "vendedor-123"),
            ],
        )
        .await;
    assert!(response.status().is_success());
    let me = invitee.me().await;
    assert_eq!(me["name"], "Sergio");
    assert_eq!(me["role"]["builtin"], "Seller");

    // The link works once.
    let (_, error) = server
        .client()
        .error(
            "accept_invite",
            &[
                ("token", token),
                ("name", "Otro"),
                ("password", "otra-clave-1"),
            ],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Invite", "problem": "AlreadyUsed"}})
    );
    assert_eq!(
        server
            .client()
            .login("sergio@andinas.example", "vendedor-123")
            .await,
        "/"
    );
    // A seller does not manage the team.
    let (status, _) = invitee.error("team", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.stop().await;
}

async fn expired_and_unknown_invitations_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let seller_role = role_id(&admin, "seller").await;
    let outcome = admin
        .json(
            "invite_user",
            &[
                ("email", "tarde@andinas.example"),
                ("role_id", &seller_role.to_string()),
            ],
        )
        .await;
    let token = outcome["link"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let db = server.db.connect().await;
    sqlx::query("UPDATE invites SET expires_at = 1")
        .execute(&db.pool)
        .await
        .unwrap();
    let invitee = server.client();
    let (status, error) = invitee.error("load_invite", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Invite", "problem": "Expired"}})
    );
    let (_, error) = invitee
        .error(
            "accept_invite",
            &[
                ("token", &token),
                ("name", "Tarde"),
                ("password", "clave-tarde-1"),
            ],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Invite", "problem": "Expired"}})
    );
    let (_, error) = invitee
        .error("load_invite", &[("token", "0000not-a-token")])
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Invite", "problem": "Unknown"}})
    );
    assert_eq!(
        member(&admin.json("team", &[]).await, "tarde@andinas.example")["status"],
        "Invited"
    );
    server.stop().await;
}

async fn invitations_with_bad_input_create_nobody(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let seller_role = role_id(&admin, "seller").await.to_string();
    let cases: [(&str, &str, Value); 5] = [
        (
            "",
            &seller_role,
            json!({"Invalid": {"field": "Email", "problem": "Required"}}),
        ),
        (
            "no-es-correo",
            &seller_role,
            json!({"Invalid": {"field": "Email", "problem": "Malformed"}}),
        ),
        (
            "ana@andinas.example",
            &seller_role,
            json!({"Invalid": {"field": "Email", "problem": "Taken"}}),
        ),
        (
            "nuevo@andinas.example",
            "999999",
            json!({"Invalid": {"field": "Role", "problem": "Unknown"}}),
        ),
        (
            "nuevo@andinas.example",
            "vendedor",
            json!({"Invalid": {"field": "Role", "problem": "Unknown"}}),
        ),
    ];
    for (email, role, expected) in cases {
        let (status, error) = admin
            .error("invite_user", &[("email", email), ("role_id", role)])
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{email} {role}");
        assert_eq!(error, expected, "{email} {role}");
    }
    let team = admin.json("team", &[]).await;
    assert_eq!(team["members"].as_array().unwrap().len(), 1);
    let db = server.db.connect().await;
    let (invites,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM invites")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(invites, 0);
    server.stop().await;
}

async fn role_change_takes_effect_on_the_next_request(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let seller = server
        .invite_and_accept(&admin, "sergio@andinas.example", "seller")
        .await;
    let seller_id = seller.me().await["id"].as_i64().unwrap();
    assert_eq!(seller.error("team", &[]).await.0, StatusCode::FORBIDDEN);

    let admin_role = role_id(&admin, "admin").await.to_string();
    admin
        .json(
            "change_user_role",
            &[
                ("user_id", &seller_id.to_string()),
                ("role_id", &admin_role),
            ],
        )
        .await;
    // Same session, no new login: the new role applies at once.
    let team = seller.json("team", &[]).await;
    assert_eq!(team["members"].as_array().unwrap().len(), 2);
    assert_eq!(seller.me().await["role"]["builtin"], "Administrator");

    // Nobody changes their own role (the organization cannot lock itself out by accident).
    let admin_id = admin.me().await["id"].as_i64().unwrap().to_string();
    let seller_role = role_id(&admin, "seller").await.to_string();
    let (status, _) = admin
        .error(
            "change_user_role",
            &[("user_id", &admin_id), ("role_id", &seller_role)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.stop().await;
}

async fn deactivated_user_loses_access_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let seller = server
        .invite_and_accept(&admin, "sergio@andinas.example", "seller")
        .await;
    let second_device = server.client();
    assert_eq!(
        second_device
            .login("sergio@andinas.example", "vendedor-123")
            .await,
        "/"
    );
    let seller_id = seller.me().await["id"].as_i64().unwrap().to_string();

    admin
        .json(
            "set_user_active",
            &[("user_id", &seller_id), ("active", "false")],
        )
        .await;
    assert_eq!(seller.me().await, Value::Null);
    assert_eq!(second_device.me().await, Value::Null);
    assert_eq!(
        seller
            .error("update_profile", &[("name", "X"), ("language", "es")])
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let db = server.db.connect().await;
    let (sessions,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
        .bind(seller_id.parse::<i64>().unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
    assert!(server
        .client()
        .login("sergio@andinas.example", "vendedor-123")
        .await
        .starts_with("/login?error=deactivated"));

    admin
        .json(
            "set_user_active",
            &[("user_id", &seller_id), ("active", "true")],
        )
        .await;
    assert_eq!(
        server
            .client()
            .login("sergio@andinas.example", "vendedor-123")
            .await,
        "/"
    );
    server.stop().await;
}

/// The session row of the only signed-in user: its data and expiry (Unix milliseconds).
async fn the_session(db: &app::db::Db) -> (String, Value, i64) {
    let (id, data, expires_at): (String, String, i64) =
        sqlx::query_as("SELECT id, data, expires_at FROM sessions WHERE user_id IS NOT NULL")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    (id, serde_json::from_str(&data).unwrap(), expires_at)
}

async fn sessions_last_from_the_last_visit(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let db = server.db.connect().await;
    let now = app::epoch::EpochMs::now().0;
    let day = 86_400_000;
    let fourteen_days = 14 * day;

    // Last used 13 days ago: one day left.
    let (id, mut data, _) = the_session(&db).await;
    data["seen_day"] = json!(now / day - 13);
    let age = |data: &Value, expires_at: i64| {
        let id = id.clone();
        let data = data.to_string();
        let db = db.clone();
        async move {
            sqlx::query("UPDATE sessions SET data = $1, expires_at = $2 WHERE id = $3")
                .bind(data)
                .bind(expires_at)
                .bind(id)
                .execute(&db.pool)
                .await
                .unwrap();
        }
    };
    age(&data, now + day).await;

    // A visit today gives it fourteen days again, in the database and in the browser.
    let response = admin.call("me", &[]).await;
    let cookie = common::session_cookie_set(&response).expect("the session cookie is sent again");
    assert!(cookie.contains("Max-Age=1209600"), "{cookie}");
    let (_, data, expires_at) = the_session(&db).await;
    assert!(
        (now + fourteen_days - 5_000..now + fourteen_days + 60_000).contains(&expires_at),
        "{expires_at} {now}"
    );
    assert_eq!(data["seen_day"], json!(now / day));

    // Later visits the same day write nothing.
    age(&data, now + day).await;
    let response = admin.call("me", &[]).await;
    assert!(common::session_cookie_set(&response).is_none());
    assert_eq!(the_session(&db).await.2, now + day);
    assert_eq!(admin.me().await["email"], "ana@andinas.example");

    // A session unused for its fourteen days is over, and ended on the server at once.
    age(&data, now - 1).await;
    assert_eq!(admin.me().await, Value::Null);
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE id = $1")
        .bind(&id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    server.stop().await;
}

async fn users_of_another_organization_are_out_of_reach(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin_a = server.setup_admin().await;
    let seller_a = server
        .invite_and_accept(&admin_a, "sergio@andinas.example", "seller")
        .await;
    let seller_a_id = seller_a.me().await["id"].as_i64().unwrap().to_string();

    // A second organization on the same installation, made from the command line.
    let db = server.db.connect().await;
    assert!(buzon_server::cli::org_add(&db, "Costa Norte", Some("XX"))
        .await
        .is_err());
    let costa = buzon_server::cli::org_add(&db, "Costa Ventas", Some("cr"))
        .await
        .unwrap();
    let (country,): (Option<String>,) =
        sqlx::query_as("SELECT default_country FROM organizations WHERE id = $1")
            .bind(costa)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(country.as_deref(), Some("CR"));
    buzon_server::cli::user_add(
        &db,
        buzon_server::cli::UserAdd {
            org: "Costa Ventas",
            email: "bruno@costa.example",
            name: "Bruno",
            role: "admin",
            language: "en",
        },
        "clave-costa-1\n".as_bytes(),
    )
    .await
    .unwrap();
    let admin_b = server.client();
    assert_eq!(
        admin_b.login("bruno@costa.example", "clave-costa-1").await,
        "/"
    );
    assert_eq!(admin_b.me().await["language"], "En");

    let team_b = admin_b.json("team", &[]).await;
    let emails: Vec<&str> = team_b["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["bruno@costa.example"]);

    let role_b = role_id(&admin_b, "admin").await.to_string();
    let (status, _) = admin_b
        .error(
            "change_user_role",
            &[("user_id", &seller_a_id), ("role_id", &role_b)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = admin_b
        .error(
            "set_user_active",
            &[("user_id", &seller_a_id), ("active", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(seller_a.me().await["role"]["builtin"], "Seller");

    // A role id of organization A means nothing in organization B.
    let role_a = role_id(&admin_a, "admin").await.to_string();
    let (_, error) = admin_b
        .error(
            "invite_user",
            &[("email", "nuevo@costa.example"), ("role_id", &role_a)],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Role", "problem": "Unknown"}})
    );
    let (status, _) = admin_b.error("delete_role", &[("id", &role_a)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Inviting an email of organization A is answered as any new email is: B learns nothing
    // of A's people. Its owner, accepting, is told the email has an account elsewhere.
    let seller_b = role_id(&admin_b, "seller").await.to_string();
    let invited = admin_b
        .json(
            "invite_user",
            &[("email", "sergio@andinas.example"), ("role_id", &seller_b)],
        )
        .await;
    let token = invited["link"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let (status, error) = server
        .client()
        .error(
            "accept_invite",
            &[
                ("token", token),
                ("name", "Sergio"),
                ("password", "otra-clave-1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Invite", "problem": "Taken"}})
    );
    assert_eq!(seller_a.me().await["org_name"], "Ventas Andinas");
    // Within one organization an email is taken, and said so.
    let (_, error) = admin_b
        .error(
            "invite_user",
            &[("email", "bruno@costa.example"), ("role_id", &seller_b)],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Email", "problem": "Taken"}})
    );
    // The pending invitation of B does not get in the way of A's seller signing in.
    assert_eq!(
        server
            .client()
            .login("sergio@andinas.example", "vendedor-123")
            .await,
        "/"
    );
    server.stop().await;
}

async fn custom_role_grants_exactly_its_permissions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let response = admin
        .call_json(
            "save_role",
            &json!({"id": null, "name": "Supervisor", "permissions": ["UseInbox", "SeeAllConversations", "ManageUsers"]}),
        )
        .await;
    assert!(response.status().is_success());
    let supervisor_role: i64 = response.json().await.unwrap();

    let duplicate = admin
        .call_json(
            "save_role",
            &json!({"id": null, "name": "Supervisor", "permissions": []}),
        )
        .await;
    assert_eq!(duplicate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        duplicate.json::<Value>().await.unwrap(),
        json!({"Invalid": {"field": "RoleName", "problem": "Taken"}})
    );

    let supervisor = server
        .invite_and_accept(&admin, "sofia@andinas.example", "Supervisor")
        .await;
    let me = supervisor.me().await;
    assert_eq!(me["role"]["name"], "Supervisor");
    assert_eq!(me["role"]["builtin"], Value::Null);
    // ManageUsers lets the supervisor see the team...
    assert!(supervisor.json("team", &[]).await["members"].is_array());
    // ...but a role in use cannot be deleted, and built-in roles are fixed.
    let (_, error) = admin
        .error("delete_role", &[("id", &supervisor_role.to_string())])
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Role", "problem": "InUse"}})
    );
    let seller_role = role_id(&admin, "seller").await;
    let (status, _) = admin
        .error("delete_role", &[("id", &seller_role.to_string())])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let renamed = admin
        .call_json(
            "save_role",
            &json!({"id": seller_role, "name": "Vendedor jefe", "permissions": ["UseInbox"]}),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::FORBIDDEN);

    // Taking ManageUsers away takes the team page away.
    let response = admin
        .call_json(
            "save_role",
            &json!({"id": supervisor_role, "name": "Supervisor", "permissions": ["UseInbox", "SeeAllConversations"]}),
        )
        .await;
    assert!(response.status().is_success());
    assert_eq!(supervisor.error("team", &[]).await.0, StatusCode::FORBIDDEN);
    server.stop().await;
}

/// A user manager gives, takes away and defines only what they hold, never edits the role they
/// hold, and nobody removes the last Administrator.
async fn managing_users_gives_no_authority_beyond_ones_own(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let save_role = |client: &Client, id: Option<i64>, name: &str, permissions: &[&str]| {
        let client = client.clone();
        let body = json!({"id": id, "name": name, "permissions": permissions});
        async move { client.call_json("save_role", &body).await }
    };
    let manager_role: i64 = save_role(
        &admin,
        None,
        "Gestor",
        &["UseInbox", "ManageUsers", "ManageContacts"],
    )
    .await
    .json()
    .await
    .unwrap();
    let manager = server
        .invite_and_accept(&admin, "gema@andinas.example", "Gestor")
        .await;
    let team = manager.json("team", &[]).await;
    assert_eq!(
        team["my_permissions"],
        json!(81),
        "UseInbox, ManageUsers and ManageContacts"
    );
    let ana = member(&team, "ana@andinas.example")["id"].to_string();
    let admin_role = role_id(&admin, "admin").await.to_string();

    // No new role, and no change to their own, with more than they hold.
    let stronger = save_role(&manager, None, "Jefe", &["UseInbox", "ManageSettings"]).await;
    assert_eq!(stronger.status(), StatusCode::FORBIDDEN);
    let own = save_role(
        &manager,
        Some(manager_role),
        "Gestor",
        &[
            "UseInbox",
            "ManageUsers",
            "ManageContacts",
            "SeeAllConversations",
        ],
    )
    .await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    let own = save_role(&manager, Some(manager_role), "Gestor", &["UseInbox"]).await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN, "not even weaker");
    let (status, _) = manager
        .error("delete_role", &[("id", &manager_role.to_string())])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // No Administrator invited, and the real one neither demoted nor deactivated.
    let (status, _) = manager
        .error(
            "invite_user",
            &[
                ("email", "intruso@andinas.example"),
                ("role_id", &admin_role),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let seller_role = role_id(&admin, "seller").await.to_string();
    let (status, _) = manager
        .error(
            "change_user_role",
            &[("user_id", &ana), ("role_id", &seller_role)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = manager
        .error("set_user_active", &[("user_id", &ana), ("active", "false")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let gema = member(&team, "gema@andinas.example")["id"].to_string();
    let (status, _) = manager
        .error(
            "change_user_role",
            &[("user_id", &gema), ("role_id", &admin_role)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let me = admin.me().await;
    assert_eq!(me["role"]["builtin"], "Administrator");

    // Within their reach, they manage: a seller is invited, made an editor, deactivated.
    let seller = server
        .invite_and_accept(&manager, "sergio@andinas.example", "seller")
        .await;
    let team = manager.json("team", &[]).await;
    let sergio = member(&team, "sergio@andinas.example")["id"].to_string();
    let editor_role = role_id(&admin, "editor").await.to_string();
    manager
        .json(
            "change_user_role",
            &[("user_id", &sergio), ("role_id", &editor_role)],
        )
        .await;
    manager
        .json(
            "set_user_active",
            &[("user_id", &sergio), ("active", "false")],
        )
        .await;
    assert_eq!(seller.me().await, Value::Null);

    // A custom role with every permission reaches the Administrator, but the last active
    // Administrator stays one.
    save_role(
        &admin,
        None,
        "Dueña",
        &[
            "UseInbox",
            "SeeAllConversations",
            "StartWithAnyContact",
            "DeleteConversations",
            "ManageUsers",
            "ManageSettings",
            "ManageContacts",
        ],
    )
    .await;
    let owner = server
        .invite_and_accept(&admin, "dora@andinas.example", "Dueña")
        .await;
    let (status, error) = owner
        .error(
            "change_user_role",
            &[("user_id", &ana), ("role_id", &seller_role)],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error, json!("LastAdministrator"));
    let (_, error) = owner
        .error("set_user_active", &[("user_id", &ana), ("active", "false")])
        .await;
    assert_eq!(error, json!("LastAdministrator"));
    assert_eq!(admin.me().await["role"]["builtin"], "Administrator");
    // With a second Administrator, the first may go.
    let team = owner.json("team", &[]).await;
    let dora = member(&team, "dora@andinas.example")["id"].to_string();
    admin
        .json(
            "change_user_role",
            &[("user_id", &dora), ("role_id", &admin_role)],
        )
        .await;
    owner
        .json(
            "change_user_role",
            &[("user_id", &ana), ("role_id", &seller_role)],
        )
        .await;
    assert_eq!(admin.me().await["role"]["builtin"], "Seller");
    server.stop().await;
}

async fn profile_changes_name_language_sound_and_password(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    assert_eq!(admin.me().await["sound_enabled"], true);

    let response = admin
        .call(
            "update_profile",
            &[("name", "Ana María"), ("language", "en")],
        )
        .await;
    assert!(response.status().is_success());
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("i18n_pref_locale=en"), "{cookie}");
    let me = admin.me().await;
    assert_eq!(me["name"], "Ana María");
    assert_eq!(me["language"], "En");
    assert_eq!(me["sound_enabled"], false);

    let (_, error) = admin
        .error(
            "update_profile",
            &[("name", "Ana"), ("language", "fr"), ("sound", "on")],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Language", "problem": "Unknown"}})
    );
    assert_eq!(admin.me().await["name"], "Ana María");

    let (_, error) = admin
        .error(
            "change_password",
            &[
                ("current_password", "equivocada"),
                ("new_password", "nueva-clave-1"),
            ],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "CurrentPassword", "problem": "Wrong"}})
    );
    // Signed in on two more devices; the change signs those out and keeps this one.
    let laptop = server.client();
    let phone = server.client();
    for device in [&laptop, &phone] {
        assert_eq!(
            device.login("ana@andinas.example", "clave-segura-1").await,
            "/"
        );
    }
    admin
        .json(
            "change_password",
            &[
                ("current_password", "clave-segura-1"),
                ("new_password", "nueva-clave-1"),
            ],
        )
        .await;
    assert_eq!(admin.me().await["email"], "ana@andinas.example");
    assert_eq!(laptop.me().await, Value::Null);
    assert_eq!(phone.me().await, Value::Null);
    assert!(server
        .client()
        .login("ana@andinas.example", "clave-segura-1")
        .await
        .starts_with("/login?error=credentials"));
    assert_eq!(
        server
            .client()
            .login("ana@andinas.example", "nueva-clave-1")
            .await,
        "/"
    );

    // "Sign out other devices" ends every other session, whatever the password.
    assert_eq!(
        laptop.login("ana@andinas.example", "nueva-clave-1").await,
        "/"
    );
    let ended = admin.json("sign_out_other_devices", &[]).await;
    assert_eq!(ended, json!(2), "the laptop and the last login's client");
    assert_eq!(laptop.me().await, Value::Null);
    assert_eq!(admin.me().await["email"], "ana@andinas.example");

    // A stolen session guesses the current password no faster than the login page.
    for _ in 0..5 {
        admin
            .error(
                "change_password",
                &[
                    ("current_password", "adivina"),
                    ("new_password", "otra-clave-9"),
                ],
            )
            .await;
    }
    let (status, error) = admin
        .error(
            "change_password",
            &[
                ("current_password", "nueva-clave-1"),
                ("new_password", "otra-clave-9"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error["RateLimited"]["retry_after_secs"], json!(5));

    // Sessions are stored under a hash of their id: the cookie's value is not in the table.
    let db = server.db.connect().await;
    let cookie = admin.session_cookie().unwrap();
    let (plain,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE id = $1")
        .bind(&cookie)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(plain, 0);
    let (hashed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE id = $1")
        .bind(app::auth::session_store::stored_id(&cookie))
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(hashed, 1);
    server.stop().await;
}

async fn editor_gets_a_forbidden_page_for_the_inbox(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let editor = server
        .invite_and_accept(&admin, "elena@andinas.example", "editor")
        .await;
    let response = editor.get("/inbox").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(page.contains("Sin acceso"), "{page}");
    assert!(
        !page.contains("href=\"/inbox\""),
        "the editor is not offered the inbox"
    );

    let response = admin.get("/inbox").await;
    assert_eq!(response.status(), StatusCode::OK);
    // Served over plain http, the session cookie cannot be Secure.
    let fresh = server.client();
    let login = fresh
        .raw()
        .post(format!("{}/login", server.base))
        .form(&[
            ("email", "ana@andinas.example"),
            ("password", "clave-segura-1"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("buzon_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    assert!(response.text().await.unwrap().contains("href=\"/inbox\""));

    // Signed-out visitors are sent to the login page.
    let response = server.client().get("/inbox").await;
    assert!(
        response.status().is_redirection(),
        "{} {:?}",
        response.status(),
        response.headers()
    );
    assert_eq!(response.headers()["location"], "/login");
    server.stop().await;
}

async fn cross_origin_state_changes_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let seller_role = role_id(&admin, "seller").await.to_string();
    let response = admin
        .post_with_origin(
            "/api/invite_user",
            "https://evil.example",
            &[("email", "espia@evil.example"), ("role_id", &seller_role)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = admin
        .post_with_origin(
            "/api/invite_user",
            &server.base,
            &[
                ("email", "legit@andinas.example"),
                ("role_id", &seller_role),
            ],
        )
        .await;
    assert!(response.status().is_success());
    let team = admin.json("team", &[]).await;
    let emails: Vec<&str> = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"legit@andinas.example"));
    assert!(!emails.contains(&"espia@evil.example"));
    server.stop().await;
}

async fn pages_follow_the_browser_language_until_the_user_chooses(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.setup_admin().await;
    let page = |language: &'static str| {
        let client = server.client();
        async move {
            client
                .raw()
                .get(format!("{}/login", client.base))
                .header("accept", "text/html")
                .header("accept-language", language)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let spanish = page("es-MX,es;q=0.9").await;
    assert!(spanish.contains("Iniciar sesión") && spanish.contains("lang=\"es\""));
    let english = page("en-US,en;q=0.9").await;
    assert!(english.contains("Log in") && english.contains("lang=\"en\""));
    // Spanish when the browser asks for neither.
    assert!(page("fr-FR").await.contains("Iniciar sesión"));

    // The switch on the login page is a link that keeps the choice and goes back to the page.
    let visitor = server.client();
    let login = visitor
        .get("/login?next=%2Fprofile")
        .await
        .text()
        .await
        .unwrap();
    let href = "/language/en?next=%2Flogin%3Fnext%3D%252Fprofile";
    assert!(login.contains(&format!("href=\"{href}\"")), "{login}");
    let switched = visitor.get(href).await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(switched.headers()["location"], "/login?next=%2Fprofile");
    let english = visitor
        .get("/login?next=%2Fprofile")
        .await
        .text()
        .await
        .unwrap();
    assert!(english.contains("Log in") && english.contains("lang=\"en\""));
    // Only this site's pages, and only the languages the interface speaks.
    let away = visitor.get("/language/es?next=//elsewhere.example").await;
    assert_eq!(away.headers()["location"], "/");
    assert_eq!(
        visitor.get("/language/fr?next=/login").await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(visitor
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("Iniciar sesión"));

    // Once signed in, the user's own choice wins, whatever the browser says.
    let admin = server.client();
    admin.login("ana@andinas.example", "clave-segura-1").await;
    admin
        .call(
            "update_profile",
            &[("name", "Ana"), ("language", "en"), ("sound", "on")],
        )
        .await;
    let html = admin
        .raw()
        .get(format!("{}/profile", admin.base))
        .header("accept", "text/html")
        .header("accept-language", "es-MX")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your details"), "{html}");
    server.stop().await;
}

fn member<'a>(team: &'a Value, email: &str) -> &'a Value {
    team["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .unwrap_or_else(|| panic!("{email} is not in the team"))
}

impl Client {
    async fn http_post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.raw()
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn post_with_origin(
        &self,
        path: &str,
        origin: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.raw()
            .post(format!("{}{path}", self.base))
            .header("origin", origin)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    fn set_session_cookie(&self, value: &str) {
        let url = self.base.parse().unwrap();
        self.jar
            .add_cookie_str(&format!("buzon_session={value}; Path=/"), &url);
    }
}

/// Pages rendered at the same time all finish (the title once read a signal outside its
/// page's scope), and so do pages rendered while another server of the same process starts
/// (listing its routes suppresses resource loading process-wide for a moment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pages_finish_while_other_servers_start() {
    common::within_limit(async {
        let server = TestServer::start(Backend::Sqlite).await;
        let admin = server.setup_admin().await;
        let starting = tokio::spawn(async {
            for _ in 0..40 {
                TestServer::start(Backend::Sqlite).await.stop().await;
            }
        });
        // Several pages at a time, for as long as the other servers keep starting.
        let rendered = std::sync::atomic::AtomicUsize::new(0);
        let render = || async {
            while !starting.is_finished() {
                let page = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                    let response = admin.get("/inbox").await;
                    assert_eq!(response.status(), StatusCode::OK);
                    response.text().await.unwrap()
                })
                .await
                .expect("the inbox page finished rendering");
                assert!(page.contains("<title>Bandeja · Buzón</title>"), "{page}");
                assert!(page.contains("</html>"), "{page}");
                rendered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        };
        tokio::join!(render(), render(), render(), render());
        let rendered = rendered.into_inner();
        starting.await.unwrap();
        assert!(rendered > 0);
        server.stop().await;
    })
    .await
}
