//! Organizations, logins, invitations, roles and deactivation, through the real server on both
//! databases.

mod common;

use common::{role_id, Backend, Client, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    first_run_setup_creates_the_organization_and_signs_the_admin_in,
    setup_with_bad_input_explains_each_field_and_creates_nothing,
    wrong_password_is_refused_and_the_right_one_rotates_the_session,
    repeated_failures_lock_the_account_for_a_while,
    repeated_failures_from_one_address_lock_every_account,
    invited_seller_sets_a_password_and_signs_in_once,
    expired_and_unknown_invitations_are_refused,
    invitations_with_bad_input_create_nobody,
    role_change_takes_effect_on_the_next_request,
    deactivated_user_loses_access_at_once,
    sessions_last_from_the_last_visit,
    users_of_another_organization_are_out_of_reach,
    custom_role_grants_exactly_its_permissions,
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

async fn repeated_failures_lock_the_account_for_a_while(backend: Backend) {
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
    // Even the right password waits now, and the page says for how long.
    let location = client.login("ana@andinas.example", "clave-segura-1").await;
    assert!(
        location.starts_with("/login?error=rate_limited"),
        "{location}"
    );
    assert!(location.contains("retry="), "{location}");
    assert_eq!(client.me().await, Value::Null);

    // Once the failures are older than the window, the account opens again.
    let db = server.db.connect().await;
    sqlx::query("UPDATE login_failures SET at = at - 16 * 60 * 1000")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        client.login("ana@andinas.example", "clave-segura-1").await,
        "/"
    );
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
    buzon_server::cli::org_add(&db, "Costa Ventas")
        .await
        .unwrap();
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
    admin
        .json(
            "change_password",
            &[
                ("current_password", "clave-segura-1"),
                ("new_password", "nueva-clave-1"),
            ],
        )
        .await;
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
