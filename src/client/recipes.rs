//! `GET /api/recipes`: every recipe with its state and lifetime counters.

use std::collections::HashSet;

use reqwest::Method;

use super::wire::{ActionReply, RecipeWire, decode_list, decode_one};
use super::{Client, Group, Route};
use crate::error::{Error, Result};
use crate::snapshot::Recipe;

pub const LIST_RECIPES: Route = Route {
    label: "GET /api/recipes",
    method: Method::GET,
    group: Group::Recipes,
};

pub const GET_RECIPE: Route = Route {
    label: "GET /api/recipes/:id",
    method: Method::GET,
    group: Group::Recipes,
};

pub const START_RECIPE: Route = Route {
    label: "PUT /api/recipes/:id/start",
    method: Method::PUT,
    group: Group::Recipes,
};

pub const STOP_RECIPE: Route = Route {
    label: "PUT /api/recipes/:id/stop",
    method: Method::PUT,
    group: Group::Recipes,
};

/// What Workato said to a start or stop.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionOutcome {
    Done,
    /// HTTP 200 with `success: false`: Workato's whole reply, with its
    /// `code_errors` and `config_errors`.
    Refused(serde_json::Value),
}

/// Workato's largest page; a shorter page is the last one.
pub const PER_PAGE: usize = 100;

/// Workato's limit of recipes in a workspace: having seen that many, the
/// walk is complete without asking for the (empty) page after.
pub const MAX_RECIPES: usize = 5_000;

/// Decodes one page of the recipes list (what each call of the sweep does;
/// public for the benchmarks).
pub fn decode_recipes(body: &[u8]) -> Result<Vec<Recipe>> {
    Ok(decode_list::<RecipeWire, Recipe>(LIST_RECIPES.label, body)?.items)
}

impl Client {
    /// Every recipe in the workspace, in `ceil(N/100)` calls.
    ///
    /// The list is newest first; each page after the first asks for ids
    /// below the lowest id seen (`since_id`), a cursor that neither skips
    /// nor repeats recipes when some are created or deleted mid-walk, as
    /// `page=N` would.
    pub async fn recipes(&self) -> Result<Vec<Recipe>> {
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
            let lowest = page.items.iter().map(|r| r.id).min();
            recipes.extend(page.items.into_iter().filter(|r| seen.insert(r.id)));
            if page.raw_len < PER_PAGE || recipes.len() >= MAX_RECIPES {
                break;
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
        Ok(recipes)
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
