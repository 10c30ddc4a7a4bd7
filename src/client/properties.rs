//! `GET /api/properties?prefix=` and `POST /api/properties`: account
//! properties, for the admin route.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::decode::decode_one;
use super::group::{Group, Route};
use super::transport::Client;
use crate::error::Result;

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
        let mut properties = decode_one::<Map<String, Value>>(GET_PROPERTIES.label, &body)?;
        // Embedded's customer-scoped route wraps the map in `result`; a
        // property's value is a string, so an object there is the wrapper.
        if properties.len() == 1
            && let Some(Value::Object(inner)) = properties.get_mut("result")
        {
            return Ok(std::mem::take(inner));
        }
        Ok(properties)
    }

    /// Creates or updates properties; the caller has checked Workato's limits.
    pub async fn upsert_properties(&self, properties: &Map<String, Value>) -> Result<()> {
        let body = json!({ "properties": properties });
        self.call(&UPSERT_PROPERTIES, "properties", &[], Some(&body))
            .await
            .map(drop)
    }
}
