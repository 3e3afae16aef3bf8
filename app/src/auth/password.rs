//! Password hashing with Argon2id, always off the async runtime: a hash takes tens of
//! milliseconds of CPU and would otherwise stall every other request on that worker.
//!
//! Each hash also takes 19 MiB, so no more run at once than twice the machine's cores: a burst
//! of logins, setups, invitation acceptances or password changes beyond that waits a moment
//! for a place (a waiting request holds no hash memory), then is refused with
//! `AppError::Busy` (503) instead of queueing threads until memory runs out.

use std::sync::{Arc, LazyLock};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;

/// The hashes that may run at once: two per core (38 MiB each core at most).
static HASHING: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(Semaphore::new(cores * 2))
});

/// How long a request waits for a place to hash in before it is told the server is busy.
const WAIT_FOR_A_PLACE: std::time::Duration = std::time::Duration::from_secs(3);

/// A place to hash in, or `AppError::Busy` when none frees up in a moment.
async fn slot() -> Result<OwnedSemaphorePermit, AppError> {
    tokio::time::timeout(WAIT_FOR_A_PLACE, HASHING.clone().acquire_owned())
        .await
        .map_err(|_| AppError::Busy)?
        .map_err(|_| AppError::Busy)
}

pub async fn hash(password: String) -> Result<String, AppError> {
    let slot = slot().await?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// Whether `password` matches `stored`. With no stored hash (unknown user or pending invite) a
/// dummy hash is checked anyway, so the answer takes as long and reveals nothing.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    let slot = slot().await?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let parsed = PasswordHash::new(&stored).map_err(AppError::internal)?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(AppError::internal)?
}

/// The Argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zk3cnF5ohQwTb2pJzP0cQX7mY8E1Vd2bJm2aY0M8k3A";
