//! `GET /api/recipes`: every recipe with its state and lifetime counters.

use std::collections::HashSet;

use reqwest::Method;

use super::decode::{decode_list, decode_one};
use super::group::{Group, Route};
use super::outcome::ActionOutcome;
use super::transport::Client;
use super::wire::{ActionReply, RecipeWire};
use crate::error::{Error, Result};
use crate::snapshot::Recipe;

pub const LIST_RECIPES: Route = Route {
    label: "GET /api/recipes",
    method: Method::GET,
    group: Group::Recipes,
    blind_retry: true,
};

pub const GET_RECIPE: Route = Route {
    label: "GET /api/recipes/:id",
    method: Method::GET,
    group: Group::Recipes,
    blind_retry: true,
};

pub const START_RECIPE: Route = Route {
    label: "PUT /api/recipes/:id/start",
    method: Method::PUT,
    group: Group::Recipes,
    blind_retry: false,
};

pub const STOP_RECIPE: Route = Route {
    label: "PUT /api/recipes/:id/stop",
    method: Method::PUT,
    group: Group::Recipes,
    blind_retry: false,
};

/// Workato's largest page. A shorter page is not the last one: a
/// project-scoped API client or a server that caps pages lower sends short
/// pages with more after them. Walks end on an empty page.
pub const PER_PAGE: usize = 100;

/// Workato's default limit of recipes in a workspace, and the most the
/// exporter keeps (an enterprise limit can be raised above it): beyond it
/// the sweep stops, logs a warning and sets `workato_recipes_truncated`.
pub const MAX_RECIPES: usize = 5_000;

/// Every recipe of the workspace, as far as [`MAX_RECIPES`] allows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecipeList {
    /// Newest first.
    pub recipes: Vec<Recipe>,
    /// More recipes exist than [`MAX_RECIPES`]; the oldest were left out.
    pub truncated: bool,
}

/// Decodes one page of the recipes list (what each call of the sweep does;
/// public for the benchmarks).
pub fn decode_recipes(body: &[u8]) -> Result<Vec<Recipe>> {
    Ok(decode_list::<RecipeWire, Recipe>(LIST_RECIPES.label, body)?.items)
}

impl Client {
    /// Every recipe in the workspace, in `floor(N/100) + 1` calls: the last
    /// one finds the empty page that ends the walk.
    ///
    /// The list is newest first; each page after the first asks for ids
    /// below the lowest id seen (`since_id`), a cursor that neither skips
    /// nor repeats recipes when some are created or deleted mid-walk, as
    /// `page=N` would. Past [`MAX_RECIPES`] the walk stops and says so.
    pub async fn recipes(&self) -> Result<RecipeList> {
        let mut recipes = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor: Option<u64> = None;
        for page_number in 1.. {
            let mut query = vec![("per_page", PER_PAGE.to_string()), ("exclude_code", "true".to_string())];
            if let Some(since_id) = cursor {
                query.push(("since_id", since_id.to_string()));
            }
            let body = self.send(&LIST_RECIPES, "recipes", &query).await?;
            let page = decode_list::<RecipeWire, Recipe>(LIST_RECIPES.label, &body)?;
            if page.raw_len == 0 {
                break;
            }
            let lowest = page.items.iter().map(|r| r.id).min();
            recipes.extend(page.items.into_iter().filter(|r| seen.insert(r.id)));
            if recipes.len() > MAX_RECIPES {
                recipes.truncate(MAX_RECIPES);
                return Ok(RecipeList {
                    recipes,
                    truncated: true,
                });
            }
            match lowest {
                Some(low) if cursor.is_none_or(|c| low < c) => cursor = Some(low),
                _ => {
                    return Err(Error::PaginationStuck {
                        endpoint: LIST_RECIPES.label,
                        page: page_number,
                    });
                }
            }
        }
        Ok(RecipeList {
            recipes,
            truncated: false,
        })
    }

    /// One recipe, fresh.
    pub async fn recipe(&self, id: u64) -> Result<Recipe> {
        let body = self.send(&GET_RECIPE, &format!("recipes/{id}"), &[]).await?;
        Ok(decode_one::<RecipeWire>(GET_RECIPE.label, &body)?.into())
    }

    /// Starts (`true`) or stops a recipe.
    pub async fn start_stop_recipe(&self, id: u64, start: bool) -> Result<ActionOutcome> {
        let (route, verb) = if start {
            (&START_RECIPE, "start")
        } else {
            (&STOP_RECIPE, "stop")
        };
        let body = self.call(route, &format!("recipes/{id}/{verb}"), &[], None).await?;
        decode_one::<ActionReply>(route.label, &body).map(ActionReply::outcome)
    }
}
