//! `GET /api/connections`: every connection, in one unpaged call.

use reqwest::Method;

use super::decode::decode_list;
use super::group::{Group, Route};
use super::transport::Client;
use super::wire::ConnectionWire;
use crate::error::Result;
use crate::snapshot::Connection;

pub const LIST_CONNECTIONS: Route = Route {
    label: "GET /api/connections",
    method: Method::GET,
    group: Group::Connections,
    blind_retry: true,
};

impl Client {
    /// Every connection in the workspace.
    pub async fn connections(&self) -> Result<Vec<Connection>> {
        let body = self.send(&LIST_CONNECTIONS, "connections", &[]).await?;
        let connections = decode_list::<ConnectionWire, Connection>(LIST_CONNECTIONS.label, &body)?.items;
        Ok(super::decode::unique_by_id(LIST_CONNECTIONS.label, connections, |c| {
            c.id
        }))
    }
}
