//! The media store in an S3-compatible bucket (Amazon S3, MinIO, Ceph, R2…), through the
//! `object_store` crate: what several instances on one PostgreSQL database need, since a file
//! received, uploaded or sent through any of them is then in the one bucket all of them read.
//! Files are streamed both ways; large ones go up as multipart uploads.

use std::path::Path;
use std::sync::Arc;

use app::media::{MediaStore, Reader};
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use tokio::io::AsyncWriteExt;

/// Where the bucket is and how to reach it (`--s3-*`, `BUZON_S3_*`). Credentials not given
/// here come from the usual `AWS_*` environment variables.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub bucket: String,
    /// An S3-compatible server's address; Amazon's own when absent.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Keys are stored under this folder of the bucket.
    pub prefix: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

#[derive(Debug)]
pub struct ObjectMedia {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

impl ObjectMedia {
    pub fn s3(settings: &S3Settings) -> Result<ObjectMedia, object_store::Error> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&settings.bucket);
        if let Some(endpoint) = &settings.endpoint {
            // S3-compatible servers are addressed by path (`endpoint/bucket/key`).
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        Ok(ObjectMedia {
            store: Arc::new(builder.build()?),
            prefix: settings
                .prefix
                .as_deref()
                .unwrap_or_default()
                .trim_matches('/')
                .to_string(),
        })
    }

    /// The object of a key Buzón made (`<org>/<id>`); anything else is refused.
    fn path(&self, key: &str) -> std::io::Result<ObjectPath> {
        let key = app::media::checked_key(key)?;
        let full = if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        };
        ObjectPath::parse(full)
            .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidInput, err))
    }
}

fn io(err: object_store::Error) -> std::io::Error {
    match err {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, err)
        }
        other => std::io::Error::other(other),
    }
}

#[async_trait::async_trait]
impl MediaStore for ObjectMedia {
    async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.store
            .put(&self.path(key)?, PutPayload::from(bytes.to_vec()))
            .await
            .map_err(io)?;
        Ok(())
    }

    async fn put_file(&self, key: &str, path: &Path) -> std::io::Result<()> {
        let mut file = tokio::fs::File::open(path).await?;
        let mut writer = BufWriter::new(self.store.clone(), self.path(key)?);
        if let Err(err) = tokio::io::copy(&mut file, &mut writer).await {
            let _ = writer.abort().await;
            return Err(err);
        }
        writer.shutdown().await?;
        tokio::fs::remove_file(path).await
    }

    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        let found = self.store.get(&self.path(key)?).await.map_err(io)?;
        Ok(found.bytes().await.map_err(io)?.to_vec())
    }

    async fn open(&self, key: &str) -> std::io::Result<(Reader, u64)> {
        let found = self.store.get(&self.path(key)?).await.map_err(io)?;
        let length = found.meta.size;
        let stream = found.into_stream().map_err(io);
        Ok((Box::new(tokio_util::io::StreamReader::new(stream)), length))
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        match self.store.delete(&self.path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(io(err)),
        }
    }
}
