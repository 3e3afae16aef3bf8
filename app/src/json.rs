//! JSON read by hand, for what the browser's first bundle reads: the inbox's data from the
//! server functions and the page, the live stream, and the browser's own storage.
//!
//! serde's derived decoders compile one state machine per type (for objects and for arrays,
//! with field matching and error messages) into the bundle. Here the text is parsed once into
//! a `serde_json::Value`, a decoder the bundle has anyway, and each type takes its fields out of
//! it by name. The JSON is the one serde's derive writes on the server, so both sides keep
//! their `Serialize` (tests read back what serde wrote, `json::tests` and the types' own).

use serde_json::Value;

/// What could not be read, and where (`conversations.3.id: expected a number`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

impl JsonError {
    fn expected(what: &str) -> JsonError {
        JsonError(format!("expected {what}"))
    }

    fn within(self, place: &str) -> JsonError {
        JsonError(format!("{place}: {}", self.0))
    }
}

/// A type read from a parsed JSON value.
pub trait FromJson: Sized {
    fn from_json(value: Value) -> Result<Self, JsonError>;
}

/// Parses `text` and reads a `T` from it.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, JsonError> {
    let value: Value = serde_json::from_str(text).map_err(|e| JsonError(e.to_string()))?;
    T::from_json(value)
}

/// An object's fields, taken out one by one. A list rather than the parsed map: taking a
/// field out of a list is a search and a swap, where a map compiles its rebalancing too.
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    /// The field `name`, taken out.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        let at = self.0.iter().position(|(key, _)| key == name)?;
        Some(self.0.swap_remove(at).1)
    }
}

/// The fields of an object.
pub fn object(value: Value) -> Result<Fields, JsonError> {
    match value {
        Value::Object(map) => Ok(Fields(map.into_iter().collect())),
        _ => Err(JsonError::expected("an object")),
    }
}

/// The field `name`, taken out of `fields`; a missing field reads as `null`.
pub fn field<T: FromJson>(fields: &mut Fields, name: &str) -> Result<T, JsonError> {
    T::from_json(fields.take(name).unwrap_or(Value::Null)).map_err(|e| e.within(name))
}

/// The field `name`, or `T`'s default when it is missing or `null`.
pub fn field_or_default<T: FromJson + Default>(
    fields: &mut Fields,
    name: &str,
) -> Result<T, JsonError> {
    match fields.take(name) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(value) => T::from_json(value).map_err(|e| e.within(name)),
    }
}

/// A struct read field by field: `from_json!(Type { a, b } or_default { c })`, where the
/// fields after `or_default` are `#[serde(default)]` on the type.
#[macro_export]
macro_rules! from_json {
    ($ty:ident { $($field:ident),* $(,)? } $(or_default { $($optional:ident),* $(,)? })?) => {
        impl $crate::json::FromJson for $ty {
            fn from_json(value: serde_json::Value) -> Result<Self, $crate::json::JsonError> {
                let mut fields = $crate::json::object(value)?;
                Ok($ty {
                    $($field: $crate::json::field(&mut fields, stringify!($field))?,)*
                    $($($optional: $crate::json::field_or_default(&mut fields, stringify!($optional))?,)*)?
                })
            }
        }
    };
}

impl FromJson for Value {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        Ok(value)
    }
}

impl FromJson for i64 {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        value
            .as_i64()
            .ok_or_else(|| JsonError::expected("a whole number"))
    }
}

impl FromJson for crate::epoch::EpochMs {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        i64::from_json(value).map(crate::epoch::EpochMs)
    }
}

impl FromJson for u32 {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| JsonError::expected("a whole number"))
    }
}

impl FromJson for bool {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        value
            .as_bool()
            .ok_or_else(|| JsonError::expected("true or false"))
    }
}

impl FromJson for String {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::String(text) => Ok(text),
            _ => Err(JsonError::expected("a string")),
        }
    }
}

/// `()` is written as `null`.
impl FromJson for () {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Null => Ok(()),
            _ => Err(JsonError::expected("null")),
        }
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Null => Ok(None),
            value => T::from_json(value).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Box<T> {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        T::from_json(value).map(Box::new)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| T::from_json(item).map_err(|e| e.within(&i.to_string())))
                .collect(),
            _ => Err(JsonError::expected("an array")),
        }
    }
}

/// A pair is a two-item array.
impl<A: FromJson, B: FromJson> FromJson for (A, B) {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Array(items) if items.len() == 2 => {
                let mut items = items.into_iter();
                let (a, b) = (items.next(), items.next());
                Ok((
                    A::from_json(a.unwrap_or_default())?,
                    B::from_json(b.unwrap_or_default())?,
                ))
            }
            _ => Err(JsonError::expected("a pair")),
        }
    }
}

/// `{"Ok": value}` or `{"Err": error}`, as serde writes a `Result`.
impl<T: FromJson, E: FromJson> FromJson for Result<T, E> {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        let mut fields = object(value)?;
        if let Some(ok) = fields.take("Ok") {
            T::from_json(ok).map(Ok)
        } else if let Some(err) = fields.take("Err") {
            E::from_json(err).map(Err)
        } else {
            Err(JsonError::expected("Ok or Err"))
        }
    }
}

/// A unit-only enum written by its variants' names: the variant named `name`.
pub fn variant<T: Copy>(
    value: Value,
    variants: &[T],
    name_of: impl Fn(T) -> &'static str,
) -> Result<T, JsonError> {
    let Value::String(name) = value else {
        return Err(JsonError::expected("a name"));
    };
    variants
        .iter()
        .copied()
        .find(|v| name_of(*v) == name)
        .ok_or_else(|| JsonError(format!("unknown name {name:?}")))
}

/// A channel by the name it is stored and sent under.
impl FromJson for channels::Channel {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        variant(value, &channels::Channel::ALL, channels::Channel::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Sample {
        id: i64,
        name: Option<String>,
        tags: Vec<(i64, String)>,
        #[serde(default)]
        seen: bool,
    }
    from_json!(Sample { id, name, tags } or_default { seen });

    #[test]
    fn reads_what_serde_writes() {
        let sample = Sample {
            id: -7,
            name: Some("José \"Pepe\"".into()),
            tags: vec![(1, "a".into()), (2, "ñ".into())],
            seen: true,
        };
        let text = serde_json::to_string(&sample).unwrap();
        assert_eq!(from_str::<Sample>(&text).unwrap(), sample);
        let result: Result<Sample, String> = Err("nope".into());
        let text = serde_json::to_string(&result).unwrap();
        assert_eq!(from_str::<Result<Sample, String>>(&text).unwrap(), result);
    }

    #[test]
    fn missing_options_and_defaults_read_as_serde_reads_them() {
        let read: Sample = from_str(r#"{"id":3,"tags":[]}"#).unwrap();
        assert_eq!(read, serde_json::from_str(r#"{"id":3,"tags":[]}"#).unwrap());
        assert_eq!(
            read,
            Sample {
                id: 3,
                ..Sample::default()
            }
        );
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        let err = from_str::<Sample>(r#"{"id":"3","tags":[]}"#).unwrap_err();
        assert_eq!(err.0, "id: expected a whole number");
        let err = from_str::<Sample>(r#"{"id":3,"tags":[[1,"a"],[2]]}"#).unwrap_err();
        assert_eq!(err.0, "tags: 1: expected a pair");
        let err = from_str::<Sample>(r#"{"id":3}"#).unwrap_err();
        assert_eq!(err.0, "tags: expected an array");
        assert!(from_str::<Sample>("{").is_err());
        assert!(from_str::<Sample>("[]").is_err());
    }
}
