//! How server functions answer: JSON, as usual, but read in the browser from text. The
//! resources a page hydrates with, the live stream and the offline queue are all read from
//! text, so each type's JSON decoder is compiled into the bundle once, not once for text and
//! once for bytes.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::{DeserializeOwned, Error as _};
use serde::Serialize;

use crate::json::{FromJson, JsonError};
use leptos::server::codee;

/// JSON written as bytes and read as text.
pub struct TextJson;

impl ContentType for TextJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for TextJson {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for TextJson {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for TextJson {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde_json::Error::custom)?;
        serde_json::from_str(text)
    }
}

/// The answer of every server function (`output = crate::codec::Json`).
pub type Json = Post<TextJson>;

/// JSON written by serde and read by hand (`crate::json`), for the server functions and the
/// resources of the first page: their types' serde decoders stay out of the browser's bundle.
pub struct ReadJson;

impl ContentType for ReadJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for ReadJson {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for ReadJson {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: FromJson> Decodes<T> for ReadJson {
    type Error = JsonError;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|e| JsonError(e.to_string()))?;
        crate::json::from_str(text)
    }
}

/// A resource's value as the page carries it from the server to the browser.
impl<T: Serialize> codee::Encoder<T> for ReadJson {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, Self::Error> {
        serde_json::to_string(value)
    }
}

impl<T: FromJson> codee::Decoder<T> for ReadJson {
    type Error = JsonError;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, Self::Error> {
        crate::json::from_str(text)
    }
}

/// The answer of the server functions the first page calls (`output = crate::codec::Read`).
pub type Read = Post<ReadJson>;
