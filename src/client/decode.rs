//! Decoding Workato's replies leniently: lists item by item, single
//! objects, error bodies, and the field decoders the wire types use.
//!
//! Workato's shapes drift: ids arrive as numbers or strings, `project_id` as
//! either, booleans sometimes as strings, fields go missing. Each item of a
//! list is decoded on its own so one malformed recipe is logged and skipped
//! instead of losing the page.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use crate::error::Error;

/// A decoded list plus the number of raw items the page held (malformed
/// ones included), which paging needs to know whether the page was full.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub raw_len: usize,
}

/// Decodes a list reply: a bare array, or an object wrapping it in `items`,
/// `data` or (Embedded's customer-scoped routes) `result`. Items that do not decode are logged and skipped.
pub(crate) fn decode_list<W, T>(endpoint: &'static str, body: &[u8]) -> Result<Page<T>, Error>
where
    W: DeserializeOwned,
    T: From<W>,
{
    let value: Value = serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint,
        reason: format!("not JSON: {e}"),
    })?;
    let raw = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map
            .remove("items")
            .or_else(|| map.remove("data"))
            .or_else(|| map.remove("result"))
        {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(Error::Decode {
                    endpoint,
                    reason: "expected a JSON array or an object with an \"items\" (or \"data\", \"result\") array"
                        .into(),
                });
            }
        },
        other => {
            return Err(Error::Decode {
                endpoint,
                reason: format!("expected a JSON array, found {}", json_kind(&other)),
            });
        }
    };
    let raw_len = raw.len();
    let mut items = Vec::with_capacity(raw_len);
    for (index, item) in raw.into_iter().enumerate() {
        let id = item.get("id").map(Value::to_string).unwrap_or_else(|| "?".into());
        match W::deserialize(item) {
            Ok(wire) => items.push(T::from(wire)),
            Err(error) => tracing::warn!(endpoint, index, id, %error, "skipping a malformed item"),
        }
    }
    Ok(Page { items, raw_len })
}

/// Keeps the first item of each id: two series with the same labels would
/// make Prometheus reject the whole scrape.
pub(crate) fn unique_by_id<T>(endpoint: &'static str, items: Vec<T>, id: impl Fn(&T) -> u64) -> Vec<T> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let before = items.len();
    let unique: Vec<T> = items.into_iter().filter(|item| seen.insert(id(item))).collect();
    if unique.len() < before {
        tracing::warn!(
            endpoint,
            duplicates = before - unique.len(),
            "Workato listed the same id twice; keeping the first"
        );
    }
    unique
}

/// The id of the first item of a list reply, if it has one.
pub(crate) fn first_id(body: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(deserialize_with = "lenient::id")]
        id: u64,
    }
    struct Id(u64);
    impl From<IdOnly> for Id {
        fn from(w: IdOnly) -> Id {
            Id(w.id)
        }
    }
    let page = decode_list::<IdOnly, Id>("probe", body).ok()?;
    page.items.first().map(|id| id.0)
}

/// Decodes a single object reply.
pub(crate) fn decode_one<W: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<W, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint,
        reason: e.to_string(),
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The longest error id kept: Workato's are uuids (36 characters).
const MAX_ERROR_ID: usize = 64;

/// Workato's error body, `{"message": "...", "id": "<uuid>"}` (the id, on
/// 500s, is what Workato support asks for), or the start of whatever it
/// sent. An id that is not a short token of letters, digits and dashes is
/// dropped rather than carried into logs and replies.
pub(crate) fn error_body(body: &[u8]) -> (String, Option<String>) {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
        #[serde(default, deserialize_with = "lenient::opt_text")]
        id: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => {
            let id = e.id.filter(|id| {
                id.len() <= MAX_ERROR_ID && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
            (e.message, id)
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let message = if text.is_empty() {
                "(empty body)".into()
            } else {
                text.chars().take(200).collect()
            };
            (message, None)
        }
    }
}

/// Lenient field decoders, for the wire types' `deserialize_with`.
pub(super) mod lenient {
    use super::*;

    fn number(value: &Value) -> Option<u64> {
        match value {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// An id that is a number or a numeric string.
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let value = Value::deserialize(d)?;
        number(&value).ok_or_else(|| serde::de::Error::custom(format!("expected a numeric id, found {value}")))
    }

    /// A number or numeric string, `null`/absent/garbage meaning unknown.
    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(number(&Value::deserialize(d)?))
    }

    /// A required id that is a string or a number (job ids).
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if !s.is_empty() => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(serde::de::Error::custom(format!("expected a string id, found {other}"))),
        }
    }

    /// Text that may arrive as a number (`project_id`, `version`).
    pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }

    /// A boolean, also from "true"/"false" and 0/1.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => Some(b),
            Value::String(s) => match s.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            Value::Number(n) => n.as_u64().map(|n| n != 0),
            _ => None,
        })
    }

    /// RFC 3339 time as Unix seconds; an unparseable time is treated as
    /// absent rather than failing the whole item.
    pub fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => parse_time(&s),
            _ => None,
        })
    }
}

/// Parses Workato's RFC 3339 timestamps (`2021-11-25T07:07:38.568-08:00`).
fn parse_time(text: &str) -> Option<f64> {
    let time = chrono::DateTime::parse_from_rfc3339(text.trim()).ok()?;
    Some(time.timestamp() as f64 + f64::from(time.timestamp_subsec_millis()) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::wire::ApiCollectionWire;
    use crate::snapshot::ApiCollection;

    #[test]
    fn wrapped_and_bare_lists_both_decode() {
        let wrapped = br#"{"items": [{"id": 1}]}"#;
        let data = br#"{"data": [{"id": 1}], "count": 1}"#;
        let result = br#"{"result": [{"id": 1}]}"#;
        for body in [&wrapped[..], &data[..], &result[..]] {
            let page = decode_list::<ApiCollectionWire, ApiCollection>("x", body).unwrap();
            assert_eq!(page.items.len(), 1);
        }
        let error = decode_list::<ApiCollectionWire, ApiCollection>("x", b"{\"message\": 1}");
        assert!(matches!(error, Err(Error::Decode { .. })));
        let error = decode_list::<ApiCollectionWire, ApiCollection>("x", b"<html>");
        assert!(matches!(error, Err(Error::Decode { ref reason, .. }) if reason.contains("not JSON")));
    }

    #[test]
    fn workato_timestamps_with_offsets_and_millis() {
        assert_eq!(parse_time("2021-11-25T07:07:38.568-08:00"), Some(1637852858.568));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1.0));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn error_bodies_give_their_message() {
        let message = |body: &[u8]| error_body(body).0;
        assert_eq!(message(br#"{"message": "Not found"}"#), "Not found");
        assert_eq!(message(b""), "(empty body)");
        assert_eq!(message(b"Bad Gateway"), "Bad Gateway");
        let id = "4f1c2a9e-7b3d-4e8a-9c21-0d5e6f7a8b9c";
        let body = format!(r#"{{"message": "Server error", "id": "{id}"}}"#);
        assert_eq!(
            error_body(body.as_bytes()),
            ("Server error".to_string(), Some(id.to_string()))
        );
        let hostile = format!(r#"{{"message": "x", "id": "{}"}}"#, "a\nb");
        assert_eq!(error_body(hostile.as_bytes()).1, None, "an id is a token, not text");
        let long = format!(r#"{{"message": "x", "id": "{}"}}"#, "a".repeat(65));
        assert_eq!(error_body(long.as_bytes()).1, None);
    }
}
