//! A stored file as the screens see it: a message's, or a quick reply's.

use serde::{Deserialize, Serialize};

use crate::from_json;

/// A file, served by `/media/<id>` once downloaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub id: i64,
    pub kind: String,
    pub mime_type: String,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    /// `pending` (being downloaded or uploaded), `ready` or `failed`.
    pub status: String,
}
from_json!(AttachmentView {
    id,
    kind,
    mime_type,
    file_name,
    size_bytes,
    status
});
