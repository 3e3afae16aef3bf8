//! Contacts from CSV files and to them, on both databases: a spreadsheet's file (semicolons,
//! Windows-1252) previewed with its columns guessed, checked before anything is written (rows
//! refused and rows matching a contact already there), imported in the background with a
//! report of each row refused; an import stopped half-way goes on without writing a row twice;
//! the command line's import; the export of the list's filter, importable again.

mod common;

use common::meta::*;
use common::{Backend, Client};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    a_spreadsheet_is_checked_then_imported_with_a_report,
    an_import_stopped_half_way_goes_on_without_writing_twice,
    the_list_is_exported_as_an_import_reads_it,
);

async fn upload(client: &Client, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    client
        .raw()
        .post(format!("{}/api/contact_imports?name={name}", client.base))
        .body(bytes)
        .send()
        .await
        .unwrap()
}

fn invalid(field: &str, problem: &str) -> Value {
    json!({"Invalid": {"field": field, "problem": problem}})
}

/// Waits for an import to finish; its view.
async fn finished(client: &Client, id: &str) -> Value {
    for _ in 0..300 {
        let view = client.json("contact_import", &[("import_id", id)]).await;
        if view["status"] == "done" {
            return view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the import did not finish");
}

/// A file as a spreadsheet in Spanish saves it: semicolons, Windows-1252.
fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            'á' => 0xe1,
            'é' => 0xe9,
            'í' => 0xed,
            'ó' => 0xf3,
            'ú' => 0xfa,
            'ñ' => 0xf1,
            'Ú' => 0xda,
            c => c as u8,
        })
        .collect()
}

async fn a_spreadsheet_is_checked_then_imported_with_a_report(backend: Backend) {
    let f = Fixture::new(backend).await;
    f.admin
        .json("save_default_country", &[("country", "MX")])
        .await;
    let field = f
        .admin
        .json(
            "save_contact_field",
            &[
                ("name", "Número de cliente"),
                ("kind", "id"),
                ("options", ""),
            ],
        )
        .await;
    let lucia = f
        .admin
        .json(
            "add_contact",
            &[
                ("first_name", "Lucía"),
                ("last_name", "Pérez"),
                ("phone", "55 1234 5678"),
                ("email", ""),
                ("company", ""),
            ],
        )
        .await;
    let file = windows_1252(
        "Nombre;Apellido;Teléfono;Correo;Empresa;Número de cliente;Notas\r\n\
         José;Gómez;55 1111 2222;jose@example.com;Muebles Sol;C-1;llamar\r\n\
         Lucía;Pérez;+52 1 55 1234 5678;;;;\r\n\
         Ana;;hola;;;;\r\n\
         ;Sin nombre;55 3333 4444;;;;\r\n\
         Marta;Solís;;marta@example.com;;C-1;\r\n\
         Pedro;Ruiz;55 5555 6666;;;C-2;\r\n\
         José;G.;55-1111-2222;;;;\r\n",
    );
    // Only who keeps the CRM imports.
    let seller = f
        .server
        .invite_and_accept(&f.admin, "sergio@andinas.example", "seller")
        .await;
    let refused = upload(&seller, "clientes.csv", file.clone()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let response = upload(&f.admin, "clientes.csv", file).await;
    assert_eq!(response.status(), StatusCode::OK);
    let preview: Value = response.json().await.unwrap();
    assert_eq!(preview["rows"], 7);
    assert_eq!(preview["columns"][2], "Teléfono");
    assert_eq!(preview["sample"][0][0], "José");
    assert_eq!(preview["sample"].as_array().unwrap().len(), 5);
    let custom = format!("custom:{}", field["id"]);
    assert_eq!(
        preview["mapping"],
        json!([
            "first_name",
            "last_name",
            "phone",
            "email",
            "company",
            custom,
            ""
        ])
    );
    let id = preview["id"].to_string();
    let mapping = format!("first_name,last_name,phone,email,company,{custom},");

    // A mapping without a name is refused; checked, the file says what it would do.
    let (status, error) = f
        .admin
        .error(
            "check_import",
            &[("import_id", &id), ("mapping", ",last_name,phone,,,,")],
        )
        .await;
    assert_eq!(
        (status, error),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            invalid("FirstName", "Required")
        )
    );
    let check = f
        .admin
        .json("check_import", &[("import_id", &id), ("mapping", &mapping)])
        .await;
    assert_eq!(check["rows"], 7);
    assert_eq!(check["rejected"], 2);
    assert_eq!(check["rejects"][0]["row"], 3);
    assert_eq!(check["rejects"][0]["error"], invalid("Phone", "Malformed"));
    assert_eq!(
        check["rejects"][1]["error"],
        invalid("FirstName", "Required")
    );
    assert_eq!(
        check["duplicates"], 2,
        "Lucía is there; José twice in the file"
    );
    assert_eq!(check["matches"][0]["row"], 2);
    assert_eq!(check["matches"][0]["matches"], json!({ "Contact": lucia }));
    assert_eq!(check["matches"][0]["reason"], "Phone");
    assert_eq!(
        check["matches"][1]["matches"],
        json!({ "Row": 1 }),
        "the second José is the first one's number, made by the same import"
    );
    assert_eq!(check["matches"][1]["matched_name"], "José Gómez");
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM contacts")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "a check writes nothing");

    let started = f
        .admin
        .json(
            "start_import",
            &[
                ("import_id", &id),
                ("mapping", &mapping),
                ("on_duplicate", "skip"),
            ],
        )
        .await;
    assert_eq!(started["rows"], 7);
    let done = finished(&f.admin, &id).await;
    assert_eq!(
        (
            &done["created"],
            &done["skipped"],
            &done["rejected"],
            &done["done"]
        ),
        (&json!(2), &json!(2), &json!(3), &json!(7))
    );
    let rejects: Vec<(i64, Value)> = done["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_i64().unwrap(), r["error"].clone()))
        .collect();
    assert_eq!(
        rejects,
        [
            (3, invalid("Phone", "Malformed")),
            (4, invalid("FirstName", "Required")),
            (5, invalid("CustomValue", "Taken")),
        ]
    );
    assert!(done["rejects"][2]["line"]
        .as_str()
        .unwrap()
        .contains("Marta"));
    // José as the file had him, found by his number, with his customer number and history.
    let found = f
        .admin
        .json("search_contacts", &[("query", "55 1111 2222")])
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let jose = f
        .admin
        .json("contact", &[("contact_id", &found[0]["id"].to_string())])
        .await;
    assert_eq!(jose["contact"]["company"], "Muebles Sol");
    assert_eq!(jose["created_from"], "import");
    assert_eq!(jose["custom"][0]["value"], "C-1");
    assert_eq!(jose["history"][0]["kind"], "created");
    // Started again, it does nothing more.
    f.admin
        .json(
            "start_import",
            &[
                ("import_id", &id),
                ("mapping", &mapping),
                ("on_duplicate", "skip"),
            ],
        )
        .await;
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM contacts")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 3);
    // A file that is not CSV at all (a spreadsheet's own format, a picture) says so.
    let response = upload(
        &f.admin,
        "clientes.xlsx",
        b"PK\x03\x04\x14\0\x06\0".to_vec(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    f.stop().await;
}

async fn an_import_stopped_half_way_goes_on_without_writing_twice(backend: Backend) {
    use app::contacts::import::ssr as imports;
    let f = Fixture::new(backend).await;
    let rows = imports::BATCH * 2 + 200;
    let mut file = String::from("first_name,email\n");
    for n in 0..rows {
        file.push_str(&format!("Cliente {n},cliente{n}@example.com\n"));
    }
    let preview: Value = upload(&f.admin, "muchos.csv", file.into_bytes())
        .await
        .json()
        .await
        .unwrap();
    let id = preview["id"].as_i64().unwrap();
    // Claimed by a worker that stops after its first batch (the server's own worker leaves
    // it alone while the lease holds).
    sqlx::query(
        "UPDATE contact_imports SET status = 'running', mapping = '[\"first_name\",\"email\"]', \
         locked_until = $1 WHERE id = $2",
    )
    .bind(app::epoch::EpochMs::now().0 + 600_000)
    .bind(id)
    .execute(&f.db.pool)
    .await
    .unwrap();
    let db = f.db.clone();
    let stopped = tokio::spawn(async move {
        imports::run(&db, id, |_, _| {
            panic!("this worker stops after its first batch")
        })
        .await
    })
    .await;
    assert!(stopped.is_err(), "the first worker stopped");
    let count = || async {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM contacts")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
        count
    };
    assert_eq!(
        count().await,
        imports::BATCH as i64,
        "its first batch is confirmed"
    );
    // Another worker takes it from there.
    imports::run(&f.db, id, |_, _| {}).await.unwrap();
    assert_eq!(count().await, rows as i64, "every row once");
    let view = imports::progress(&f.db, id).await.unwrap();
    assert_eq!(
        (view.status.as_str(), view.created, view.done),
        ("done", rows as i64, rows as i64)
    );
    // The command line imports the same way: rows already there are skipped.
    let path = std::env::temp_dir().join(format!("buzon-import-{}.csv", std::process::id()));
    std::fs::write(
        &path,
        "nombre;correo;teléfono\nCliente 0;cliente0@example.com;\nNuevo;;+52 55 7777 8888\n",
    )
    .unwrap();
    let imported =
        buzon_server::cli::contact_import(&f.db, "Ventas Andinas", None, false, &path, |_, _| {})
            .await
            .map_err(|e| e.to_string())
            .unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!((imported.created, imported.skipped), (1, 1));
    assert!(imported.rejects.is_empty());
    f.stop().await;
}

async fn the_list_is_exported_as_an_import_reads_it(backend: Backend) {
    let f = Fixture::new(backend).await;
    f.admin
        .json("save_default_country", &[("country", "MX")])
        .await;
    let level = f
        .admin
        .json(
            "save_contact_field",
            &[
                ("name", "Nivel"),
                ("kind", "choices"),
                ("options", "Oro\nPlata"),
            ],
        )
        .await;
    for (first, phone, company, email) in [
        ("Lucía", "55 1234 5678", "Casa Pérez", "lucia@example.com"),
        ("Jorge", "55 8765 4321", "", "jorge@example.com"),
        ("Álvaro", "", "Casa Pérez", "alvaro@example.com"),
    ] {
        f.admin
            .json(
                "add_contact",
                &[
                    ("first_name", first),
                    ("last_name", "Test"),
                    ("phone", phone),
                    ("email", email),
                    ("company", company),
                ],
            )
            .await;
    }
    let lucia = f.admin.json("search_contacts", &[("query", "lucía")]).await[0]["id"].to_string();
    f.admin
        .json(
            "set_contact_value",
            &[
                ("contact_id", &lucia),
                ("field_id", &level["id"].to_string()),
                ("value", "Oro\nPlata"),
            ],
        )
        .await;
    let export = |query: &'static str| {
        let admin = f.admin.clone();
        async move {
            admin
                .raw()
                .get(format!("{}/api/contacts.csv{query}", admin.base))
                .send()
                .await
                .unwrap()
        }
    };
    // The list's filter: the search for the company, by name.
    let response = export("?q=casa%20perez").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "first_name,last_name,email,company,phone,whatsapp_phone,other_phone,facebook_id,\
         instagram_username,owner,Nivel,created_from,created_at"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].starts_with("Álvaro,Test,alvaro@example.com,Casa Pérez,,"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("Lucía,Test,lucia@example.com,Casa Pérez,+525512345678,,,,,ana@andinas.example,Oro; Plata,contacts,"), "{}", lines[2]);
    // Everything, and read back by an import as it was written.
    let everything = export("").await.text().await.unwrap();
    assert_eq!(everything.lines().count(), 4);
    let preview: Value = upload(&f.admin, "contactos.csv", everything.into_bytes())
        .await
        .json()
        .await
        .unwrap();
    let custom = format!("custom:{}", level["id"]);
    assert_eq!(
        preview["mapping"],
        json!([
            "first_name",
            "last_name",
            "email",
            "company",
            "phone",
            "whatsapp_phone",
            "other_phone",
            "facebook_id",
            "instagram_username",
            "owner",
            custom,
            "",
            ""
        ])
    );
    let check = f
        .admin
        .json(
            "check_import",
            &[
                ("import_id", &preview["id"].to_string()),
                (
                    "mapping",
                    &preview["mapping"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| m.as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ],
        )
        .await;
    assert_eq!(
        (&check["rejected"], &check["duplicates"]),
        (&json!(0), &json!(3))
    );
    // Only who keeps the CRM exports.
    let seller = f
        .server
        .invite_and_accept(&f.admin, "sergio@andinas.example", "seller")
        .await;
    let refused = seller
        .raw()
        .get(format!("{}/api/contacts.csv", seller.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    f.stop().await;
}
