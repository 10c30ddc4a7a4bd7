//! One cheap read per endpoint group, for `workato_exporter check`.

use super::group::Group;
use super::jobs::LIST_JOBS;
use super::properties::GET_PROPERTIES;
use super::recipes::LIST_RECIPES;
use super::transport::Client;
use crate::error::Result;

impl Client {
    /// Reads the smallest thing the group offers, to learn whether the API
    /// client may call it, and returns the id of the first item listed (the
    /// recipes probe's answer is the recipe whose jobs the jobs probe reads).
    /// Without a recipe id the jobs probe asks for recipe 0, which cannot
    /// exist: 401 and 403 still tell, and 404 means "allowed".
    pub async fn probe(&self, group: Group, recipe_id: Option<u64>) -> Result<Option<u64>> {
        let one = || vec![("per_page", "1".to_string())];
        let (route, path, query) = match group {
            Group::Workspace => (super::workspace::USERS_ME, "users/me".to_string(), vec![]),
            Group::Recipes => (LIST_RECIPES, "recipes".to_string(), {
                let mut q = one();
                q.push(("exclude_code", "true".to_string()));
                q
            }),
            Group::Jobs => (LIST_JOBS, format!("recipes/{}/jobs", recipe_id.unwrap_or(0)), vec![]),
            Group::Connections => (super::connections::LIST_CONNECTIONS, "connections".to_string(), vec![]),
            Group::ApiPlatform => (
                super::api_platform::LIST_API_COLLECTIONS,
                "api_collections".to_string(),
                one(),
            ),
            Group::Properties => (
                GET_PROPERTIES,
                "properties".to_string(),
                vec![("prefix", "workato_exporter.check".to_string())],
            ),
        };
        let body = self.send(&route, &path, &query).await?;
        Ok(super::decode::first_id(&body))
    }
}
