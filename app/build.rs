//! The migrations are embedded by `sqlx::migrate!`, which does not tell Cargo about them: a
//! changed migration must rebuild this crate, or tests would run the previous one.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
