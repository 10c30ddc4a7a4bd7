//! `GET /api/users/me`: the workspace's id, name and plan.

use reqwest::Method;

use super::decode::decode_one;
use super::group::{Group, Route};
use super::transport::Client;
use super::wire::WorkspaceWire;
use crate::error::Result;
use crate::snapshot::WorkspaceInfo;

pub const USERS_ME: Route = Route {
    label: "GET /api/users/me",
    method: Method::GET,
    group: Group::Workspace,
    blind_retry: true,
};

impl Client {
    /// Details of the workspace the token belongs to.
    pub async fn workspace(&self) -> Result<WorkspaceInfo> {
        let body = self.send(&USERS_ME, "users/me", &[]).await?;
        Ok(decode_one::<WorkspaceWire>(USERS_ME.label, &body)?.into())
    }
}
