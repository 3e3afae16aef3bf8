//! The outbox delivers side by side and in order: several workers, so that one organization's
//! hanging provider does not hold another's sends; per conversation in the order written,
//! even when a send in the middle is retried; the same with two instances on one database.

mod common;

use std::time::{Duration, Instant};

use app::accounts::store::{connect, Credentials, NewAccount};
use channels::Channel;
use common::pair::{eventually, Pair, ACCESS_TOKEN, APP_SECRET};
use common::{Backend, Client, TestServer};
use sandbox::world::Fault;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

on_both_databases!(
    a_provider_hanging_for_one_organization_does_not_delay_another,
    a_retry_in_the_middle_keeps_the_order_written,
);

async fn send_text(client: &Client, conversation_id: i64, text: &str) {
    client
        .json(
            "send_text",
            &[
                ("conversation_id", &conversation_id.to_string()),
                ("body", text),
            ],
        )
        .await;
}

/// The texts the customer of `conversation_id` received, in the order they arrived.
async fn received(pair: &Pair, conversation_id: i64) -> Vec<String> {
    let (customer,): (String,) =
        sqlx::query_as("SELECT customer_key FROM conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    pair.business_messages()
        .into_iter()
        .filter(|m| m.customer == customer)
        .filter_map(|m| m.text)
        .collect()
}

async fn conversation_from(pair: &Pair, customer: &str) -> i64 {
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM conversations WHERE customer_key = $1")
        .bind(customer)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    id
}

/// Organization A's provider hangs on every send, for several of its customers at once;
/// organization B, on the same installation, sends at once all the same.
async fn a_provider_hanging_for_one_organization_does_not_delay_another(backend: Backend) {
    let pair = Pair::start_with(backend, |args| args.provider_timeout_secs = 10).await;
    let (line_a, line_b) = {
        let world = pair.sandbox.lock().unwrap();
        (
            world.lines[0].phone_number_id.clone(),
            world.lines[1].phone_number_id.clone(),
        )
    };
    // Organization B, with the sandbox's second line.
    buzon_server::cli::org_add(&pair.db, "Costa Ventas", None)
        .await
        .unwrap();
    buzon_server::cli::user_add(
        &pair.db,
        buzon_server::cli::UserAdd {
            org: "Costa Ventas",
            email: "bruno@costa.example",
            name: "Bruno",
            role: "admin",
            language: "es",
        },
        "clave-costa-1\n".as_bytes(),
    )
    .await
    .unwrap();
    let (org_b,): (i64,) =
        sqlx::query_as("SELECT id FROM organizations WHERE name = 'Costa Ventas'")
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    sqlx::query("DELETE FROM accounts WHERE external_id = $1")
        .bind(&line_b)
        .execute(&pair.db.pool)
        .await
        .unwrap();
    let secrets = app::secrets::SecretBox::from_hex(common::TEST_SECRET_KEY).unwrap();
    connect(
        &pair.db,
        &secrets,
        org_b,
        &NewAccount {
            channel: Channel::Whatsapp,
            name: "Costa".into(),
            external_id: line_b.clone(),
            display_handle: None,
            config: json!({"business_id": sandbox::world::WABA_ID}),
            credentials: Credentials {
                access_token: ACCESS_TOKEN.into(),
                app_secret: APP_SECRET.into(),
                verify_token: "v".into(),
                auth_token: String::new(),
            },
            connected_by: None,
        },
    )
    .await
    .unwrap();
    let bruno = pair.server.client();
    assert_eq!(
        bruno.login("bruno@costa.example", "clave-costa-1").await,
        "/"
    );

    let customers_a = ["5215500000101", "5215500000102", "5215500000103"];
    for customer in customers_a {
        pair.customer_sends(
            json!({"channel": "whatsapp", "account": line_a, "from": customer, "text": "hola"}),
        )
        .await;
    }
    pair.customer_sends(
        json!({"channel": "whatsapp", "account": line_b, "from": "5215500000201", "text": "hola"}),
    )
    .await;
    {
        let mut world = pair.sandbox.lock().unwrap();
        world.behaviour.hang_ms = 6_000;
        world.behaviour.hanging = vec![line_a.clone()];
    }
    for customer in customers_a {
        let conversation = conversation_from(&pair, customer).await;
        send_text(&pair.admin, conversation, "un momento").await;
    }
    // Organization A's sends are hanging at the provider now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let conversation_b = conversation_from(&pair, "5215500000201").await;
    send_text(&bruno, conversation_b, "¡hola desde Costa!").await;
    eventually("organization B's message at the provider", WAIT, || async {
        (received(&pair, conversation_b).await == ["¡hola desde Costa!"]).then_some(())
    })
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "B waited {took:?} behind A's hanging provider"
    );
    // At most two of A's sends were held at once: the third waited its turn.
    let attempts = pair.send_attempts();
    assert!(
        attempts <= 3,
        "{attempts} attempts: A held more than two workers"
    );
    pair.sandbox.lock().unwrap().behaviour.hanging.clear();
    pair.stop().await;
}

/// The provider refuses the first of three messages once; it is retried, and the customer
/// still reads them in the order written.
async fn a_retry_in_the_middle_keeps_the_order_written(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let conversation = pair.conversation_id().await;
    pair.fault(Fault::ServerError, 1);
    for text in ["uno", "dos", "tres"] {
        send_text(&pair.admin, conversation, text).await;
    }
    let texts = eventually("the three messages at the provider", WAIT, || async {
        let texts = received(&pair, conversation).await;
        (texts.len() == 3).then_some(texts)
    })
    .await;
    assert_eq!(texts, ["uno", "dos", "tres"]);
    pair.stop().await;
}

/// Two instances deliver from one outbox: with a retry in the middle, the order still holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_keep_the_order_written() {
    common::within_limit(async {
        let pair = Pair::start(Backend::Postgres).await;
        let other = TestServer::start_on(pair.server.db.shared(), pair.args.clone()).await;
        let admin_there = pair.admin.on_instance(&other.base);
        pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
            .await;
        let conversation = pair.conversation_id().await;
        pair.fault(Fault::ServerError, 2);
        let texts = ["uno", "dos", "tres", "cuatro", "cinco", "seis"];
        for (n, text) in texts.iter().enumerate() {
            let client = if n % 2 == 0 {
                &pair.admin
            } else {
                &admin_there
            };
            send_text(client, conversation, text).await;
        }
        let got = eventually("the six messages at the provider", WAIT, || async {
            let got = received(&pair, conversation).await;
            (got.len() == texts.len()).then_some(got)
        })
        .await;
        assert_eq!(got, texts);
        other.stop().await;
        pair.stop().await;
    })
    .await;
}
