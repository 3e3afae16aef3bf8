//! The media store: received and sent files live here, keyed by storage key; rows hold
//! only keys and metadata. A local directory by default; anything implementing [`MediaStore`]
//! (an S3-compatible bucket, say) can take its place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

#[async_trait::async_trait]
pub trait MediaStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key` durably (it survives a crash once this returns).
    async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    /// Stores the file at `path` under `key` durably, without holding it in memory; the file
    /// at `path` is the store's to move or remove.
    async fn put_file(&self, key: &str, path: &Path) -> std::io::Result<()>;
    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
    /// The file as a stream, with its length, for serving it without holding it in memory.
    async fn open(&self, key: &str) -> std::io::Result<(Reader, u64)>;
    /// Removes the file; a missing file is not an error.
    async fn delete(&self, key: &str) -> std::io::Result<()>;
}

pub type Media = Arc<dyn MediaStore>;

/// A file being read.
pub type Reader = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

/// A key Buzón made (`<org>/<id>`); anything that could climb out of the store is refused.
pub fn checked_key(key: &str) -> std::io::Result<&str> {
    let safe = !key.is_empty()
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'));
    if safe {
        Ok(key)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "invalid media key",
        ))
    }
}

/// Files in a directory: `<root>/<key>`, written to a temporary name, synced, then renamed.
#[derive(Debug, Clone)]
pub struct LocalMedia {
    root: PathBuf,
}

impl LocalMedia {
    pub fn new(root: impl Into<PathBuf>) -> LocalMedia {
        LocalMedia { root: root.into() }
    }

    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        Ok(self.root.join(checked_key(key)?))
    }
}

#[async_trait::async_trait]
impl MediaStore for LocalMedia {
    async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(key)?;
        let bytes = bytes.to_vec();
        tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
            .await
            .map_err(std::io::Error::other)?
    }

    async fn put_file(&self, key: &str, path: &Path) -> std::io::Result<()> {
        let target = self.path(key)?;
        let source = path.to_path_buf();
        tokio::task::spawn_blocking(move || move_durably(&source, &target))
            .await
            .map_err(std::io::Error::other)?
    }

    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path(key)?).await
    }

    async fn open(&self, key: &str) -> std::io::Result<(Reader, u64)> {
        let file = tokio::fs::File::open(self.path(key)?).await?;
        let length = file.metadata().await?.len();
        Ok((Box::new(file), length))
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// Moves a finished file into place: renamed when on the same file system, copied otherwise;
/// synced, then renamed to its key, like `write_durably`.
fn move_durably(source: &Path, path: &Path) -> std::io::Result<()> {
    let dir = path.parent().expect("media paths have a parent");
    std::fs::create_dir_all(dir)?;
    let temporary = path.with_extension("part");
    if std::fs::rename(source, &temporary).is_err() {
        std::fs::copy(source, &temporary)?;
        std::fs::remove_file(source)?;
    }
    std::fs::File::open(&temporary)?.sync_all()?;
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(dir)?.sync_all()
}

fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().expect("media paths have a parent");
    std::fs::create_dir_all(dir)?;
    let temporary = path.with_extension("part");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    // The rename itself is durable once the directory is synced.
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_and_keys_cannot_escape() {
        let root = std::env::temp_dir().join(format!("buzon-media-{}", std::process::id()));
        let store = LocalMedia::new(&root);
        store.put("1/42", b"bytes").await.unwrap();
        assert_eq!(store.get("1/42").await.unwrap(), b"bytes");
        let staged = root.join("staged.part");
        std::fs::write(&staged, b"moved").unwrap();
        store.put_file("1/43", &staged).await.unwrap();
        assert_eq!(store.get("1/43").await.unwrap(), b"moved");
        assert!(!staged.exists(), "the staged file is the store's");
        store.delete("1/42").await.unwrap();
        store.delete("1/42").await.unwrap();
        assert!(store.get("1/42").await.is_err());
        for bad in ["../etc/passwd", "1/../../x", "", "/abs", "a//b"] {
            assert!(store.put(bad, b"x").await.is_err(), "{bad}");
        }
        let _ = std::fs::remove_dir_all(root);
    }
}
