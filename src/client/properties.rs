//! `GET /api/properties?prefix=` and `POST /api/properties`: account
//! properties, for the admin route.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::wire::decode_one;
use super::{Client, Group, Route};
use crate::error::Result;

/// Workato's limits on account properties (WORKATO_API.md).
pub const MAX_PROPERTIES: usize = 1_000;
pub const MAX_NAME: usize = 100;
pub const MAX_VALUE: usize = 1_024;

/// Checks one property against Workato's limits: a name of 1 to 100
/// characters, a string value of at most 1,024.
pub fn check_property(name: &str, value: &Value) -> std::result::Result<(), String> {
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME {
        return Err(format!(
            "property name {name:?} must be 1 to {MAX_NAME} characters, not {length}"
        ));
    }
    let Value::String(text) = value else {
        return Err(format!("property {name:?} must be a string, not {value}"));
    };
    let length = text.chars().count();
    if length > MAX_VALUE {
        return Err(format!(
            "the value of {name:?} is {length} characters; at most {MAX_VALUE}"
        ));
    }
    Ok(())
}

pub const GET_PROPERTIES: Route = Route {
    label: "GET /api/properties",
    method: Method::GET,
    group: Group::Properties,
    blind_retry: true,
};

pub const UPSERT_PROPERTIES: Route = Route {
    label: "POST /api/properties",
    method: Method::POST,
    group: Group::Properties,
    blind_retry: true,
};

impl Client {
    /// The properties whose names start with `prefix` (empty: all).
    pub async fn properties(&self, prefix: &str) -> Result<Map<String, Value>> {
        let body = self
            .send(&GET_PROPERTIES, "properties", &[("prefix", prefix.to_string())])
            .await?;
        decode_one::<Map<String, Value>>(GET_PROPERTIES.label, &body)
    }

    /// Creates or updates properties; the caller has checked Workato's limits.
    pub async fn upsert_properties(&self, properties: &Map<String, Value>) -> Result<()> {
        let body = json!({ "properties": properties });
        self.call(&UPSERT_PROPERTIES, "properties", &[], Some(&body))
            .await
            .map(drop)
    }
}
