//! One workspace's snapshot as the large part of the exposition reads it:
//! the ids of its recipes, connections and job recipes formatted once, so
//! that each family (written for every workspace in turn, see `Metrics`)
//! does not format them again.

use std::collections::HashMap;

use crate::snapshot::Snapshot;

pub struct View<'s> {
    pub snapshot: &'s Snapshot,
    /// `recipe_id` of each of `snapshot.recipes`, in order.
    pub recipe_ids: Vec<String>,
    /// `connection_id` of each of `snapshot.connections`, in order.
    pub connection_ids: Vec<String>,
    /// Running recipes binding each connection, by connection id.
    pub running_by_connection: HashMap<u64, u32>,
    /// `recipe_id` of each of `snapshot.jobs.recipes`, in order.
    pub job_recipe_ids: Vec<String>,
}

impl<'s> View<'s> {
    pub fn new(snapshot: &'s Snapshot) -> View<'s> {
        let mut running_by_connection: HashMap<u64, u32> = HashMap::new();
        for recipe in snapshot.recipes.iter().filter(|r| r.running == Some(true)) {
            for id in &recipe.connection_ids {
                *running_by_connection.entry(*id).or_default() += 1;
            }
        }
        View {
            snapshot,
            recipe_ids: snapshot.recipes.iter().map(|r| r.id.to_string()).collect(),
            connection_ids: snapshot.connections.iter().map(|c| c.id.to_string()).collect(),
            running_by_connection,
            job_recipe_ids: snapshot.jobs.recipes.iter().map(|r| r.id.to_string()).collect(),
        }
    }
}
