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
use serde_json::value::RawValue;

use crate::error::Error;

/// A decoded list plus the number of raw items the page held (malformed
/// ones included), which paging needs to know whether the page was full.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub raw_len: usize,
}

/// Decodes a list reply: a bare array, or an object wrapping it in `items`,
/// `data` or (Embedded's customer-scoped routes) `result`. Items that do not decode are logged and skipped.
///
/// Each item goes from the reply's bytes straight into its wire type: only
/// the fields the exporter reads are allocated, where a `Value` tree of the
/// page would allocate every key and field of every item (a recipe's code
/// among them), most of the exporter's allocations at 5,000 recipes.
pub(crate) fn decode_list<W, T>(endpoint: &'static str, body: &[u8]) -> Result<Page<T>, Error>
where
    W: DeserializeOwned,
    T: From<W>,
{
    /// The wrappers a list comes in; other fields are skipped unread.
    #[derive(Deserialize)]
    struct Wrapped<'a> {
        #[serde(borrow, default)]
        items: Option<&'a RawValue>,
        #[serde(borrow, default)]
        data: Option<&'a RawValue>,
        #[serde(borrow, default)]
        result: Option<&'a RawValue>,
    }
    let not_json = |e: serde_json::Error| Error::Decode {
        endpoint,
        reason: format!("not JSON: {e}"),
    };
    let raw: Vec<&RawValue> = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice(body).map_err(not_json)?,
        Some(b'{') => {
            let wrapped: Wrapped = serde_json::from_slice(body).map_err(not_json)?;
            let list = wrapped.items.or(wrapped.data).or(wrapped.result);
            list.and_then(|list| serde_json::from_str(list.get()).ok())
                .ok_or(Error::Decode {
                    endpoint,
                    reason: "expected a JSON array or an object with an \"items\" (or \"data\", \"result\") array"
                        .into(),
                })?
        }
        _ => {
            let value: Value = serde_json::from_slice(body).map_err(not_json)?;
            return Err(Error::Decode {
                endpoint,
                reason: format!("expected a JSON array, found {}", json_kind(&value)),
            });
        }
    };
    let raw_len = raw.len();
    let mut items = Vec::with_capacity(raw_len);
    for (index, item) in raw.into_iter().enumerate() {
        match serde_json::from_str::<W>(item.get()) {
            Ok(wire) => items.push(T::from(wire)),
            Err(error) => {
                let id = item_id(item).unwrap_or("?");
                tracing::warn!(endpoint, index, id, %error, "skipping a malformed item");
            }
        }
    }
    Ok(Page { items, raw_len })
}

/// The most of an item's `id` a log line shows.
const MAX_LOGGED_ID: usize = 64;

/// The `id` of a list item, as it is written (JSON, so escaped), for a log
/// line about it: its first [`MAX_LOGGED_ID`] bytes at most, as a server
/// may send anything there.
fn item_id(item: &RawValue) -> Option<&str> {
    #[derive(Deserialize)]
    struct IdOf<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    let id: IdOf = serde_json::from_str(item.get()).ok()?;
    let id = id.id?.get();
    let mut end = id.len().min(MAX_LOGGED_ID);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    Some(&id[..end])
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
    fn items_decode_alone_and_what_the_exporter_does_not_read_is_skipped() {
        let body = br#"{"items": [
            {"id": 1, "code": "{\"block\": [1, {}]}", "config": [{"keyword": "app"}], "extra": {"a": [1, {"b": null}]}},
            {"id": "not a number"},
            7,
            {"id": "2", "name": "second"}
        ], "count": 4}"#;
        let page = decode_list::<ApiCollectionWire, ApiCollection>("x", body).unwrap();
        let ids: Vec<u64> = page.items.iter().map(|c| c.id).collect();
        assert_eq!(ids, [1, 2], "the malformed item and the number are skipped");
        assert_eq!(page.raw_len, 4, "a full page is told by what it held");
        let reason = |body: &[u8]| match decode_list::<ApiCollectionWire, ApiCollection>("x", body) {
            Err(Error::Decode { reason, .. }) => reason,
            other => panic!("expected a decode error, got {:?}", other.map(|p| p.raw_len)),
        };
        assert!(reason(b"[{\"id\": 1}").starts_with("not JSON"));
        assert!(reason(b"{\"items\": [}").starts_with("not JSON"));
        assert_eq!(reason(b" 42 "), "expected a JSON array, found a number");
        assert!(reason(br#"{"items": {"id": 1}}"#).starts_with("expected a JSON array or an object"));
    }

    #[test]
    fn a_malformed_items_id_is_logged_short() {
        let long = format!(r#"{{"id": "{}", "x": 1}}"#, "é".repeat(100));
        let item: &RawValue = serde_json::from_str(&long).unwrap();
        let id = item_id(item).unwrap();
        assert!(id.len() <= MAX_LOGGED_ID && id.starts_with("\"éé"), "{id}");
        let item: &RawValue = serde_json::from_str(r#"{"id": 12}"#).unwrap();
        assert_eq!(item_id(item), Some("12"));
        let item: &RawValue = serde_json::from_str("7").unwrap();
        assert_eq!(item_id(item), None);
    }

    #[test]
    fn nesting_without_end_costs_an_item_at_most_and_never_the_stack() {
        for depth in [1_000, 200_000] {
            let mut deep = "[".repeat(depth);
            deep.push_str(&"]".repeat(depth));
            let decode = |body: &str| {
                let page = decode_list::<ApiCollectionWire, ApiCollection>("x", body.as_bytes()).expect("a list");
                (page.raw_len, page.items.iter().map(|c| c.id).collect::<Vec<_>>())
            };
            // An item nested that deep fails the decoder's recursion limit
            // and is skipped; nesting in a field the exporter does not
            // read is passed over.
            assert_eq!(decode(&deep), (1, vec![]), "depth {depth}");
            let wrapped = format!(r#"{{"items": [{{"id": 1, "deep": {deep}}}, {{"id": 2}}]}}"#);
            assert_eq!(decode(&wrapped), (2, vec![1, 2]), "depth {depth}");
        }
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
