//! `GET /api/api_collections` and `GET /api/api_endpoints`, paged with
//! `page`/`per_page`.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::decode::{decode_list, decode_one};
use super::group::{Group, Route};
use super::outcome::ActionOutcome;
use super::recipes::PER_PAGE;
use super::transport::Client;
use super::wire::{ActionReply, ApiCollectionWire, ApiEndpointWire};
use crate::error::{Error, Result};
use crate::snapshot::{ApiCollection, ApiEndpoint};

pub const LIST_API_COLLECTIONS: Route = Route {
    label: "GET /api/api_collections",
    method: Method::GET,
    group: Group::ApiPlatform,
    blind_retry: true,
};

pub const LIST_API_ENDPOINTS: Route = Route {
    label: "GET /api/api_endpoints",
    method: Method::GET,
    group: Group::ApiPlatform,
    blind_retry: true,
};

pub const ENABLE_API_ENDPOINT: Route = Route {
    label: "PUT /api/api_endpoints/:id/enable",
    method: Method::PUT,
    group: Group::ApiPlatform,
    blind_retry: false,
};

pub const DISABLE_API_ENDPOINT: Route = Route {
    label: "PUT /api/api_endpoints/:id/disable",
    method: Method::PUT,
    group: Group::ApiPlatform,
    blind_retry: false,
};

/// The most pages of API collections or endpoints read: 10,000 of each.
pub const MAX_PAGES: u32 = 100;

impl Client {
    /// Enables (`true`) or disables an API endpoint.
    pub async fn enable_disable_api_endpoint(&self, id: u64, enable: bool) -> Result<ActionOutcome> {
        let (route, verb) = if enable {
            (&ENABLE_API_ENDPOINT, "enable")
        } else {
            (&DISABLE_API_ENDPOINT, "disable")
        };
        let body = self
            .call(route, &format!("api_endpoints/{id}/{verb}"), &[], None)
            .await?;
        decode_one::<ActionReply>(route.label, &body).map(ActionReply::outcome)
    }

    /// The endpoints of one collection (to refresh one endpoint cheaply).
    pub async fn api_endpoints_in(&self, collection_id: u64) -> Result<Vec<ApiEndpoint>> {
        let filter = [("api_collection_id", collection_id.to_string())];
        self.paged::<ApiEndpointWire, _>(&LIST_API_ENDPOINTS, "api_endpoints", &filter, |e: &ApiEndpoint| e.id)
            .await
    }

    /// Every API collection.
    pub async fn api_collections(&self) -> Result<Vec<ApiCollection>> {
        self.paged::<ApiCollectionWire, _>(&LIST_API_COLLECTIONS, "api_collections", &[], |c: &ApiCollection| c.id)
            .await
    }

    /// Every API endpoint, across collections.
    pub async fn api_endpoints(&self) -> Result<Vec<ApiEndpoint>> {
        self.paged::<ApiEndpointWire, _>(&LIST_API_ENDPOINTS, "api_endpoints", &[], |e: &ApiEndpoint| e.id)
            .await
    }

    /// Walks `page=1,2,...` until an empty page, at most [`MAX_PAGES`]. A
    /// page whose ids equal the previous page's (a server ignoring `page`)
    /// stops the walk with an error instead of looping; so does a walk that
    /// never ends. Duplicate ids keep their first item.
    async fn paged<W, T>(
        &self,
        route: &Route,
        path: &str,
        filter: &[(&str, String)],
        id: fn(&T) -> u64,
    ) -> Result<Vec<T>>
    where
        W: DeserializeOwned,
        T: From<W>,
    {
        let mut all = Vec::new();
        let mut previous_ids: Vec<u64> = Vec::new();
        for page_number in 1..=MAX_PAGES {
            let mut query = vec![("page", page_number.to_string()), ("per_page", PER_PAGE.to_string())];
            query.extend(filter.iter().cloned());
            let body = self.send(route, path, &query).await?;
            let page = decode_list::<W, T>(route.label, &body)?;
            let ids: Vec<u64> = page.items.iter().map(id).collect();
            if page_number > 1 && !ids.is_empty() && ids == previous_ids {
                return Err(Error::PaginationStuck {
                    endpoint: route.label,
                    page: page_number,
                });
            }
            // A short page is not the last: only an empty one is.
            if page.raw_len == 0 {
                return Ok(super::decode::unique_by_id(route.label, all, id));
            }
            all.extend(page.items);
            previous_ids = ids;
        }
        Err(Error::PageLimit {
            endpoint: route.label,
            pages: MAX_PAGES,
        })
    }
}
