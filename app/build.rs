//! The migrations (embedded by `sqlx::migrate!`) and the translations (read by
//! `leptos_i18n::load_locales!`) are files the macros do not tell Cargo about: a changed one
//! must rebuild this crate, or tests and pages would carry the previous version.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=locales");
}
