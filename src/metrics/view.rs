//! One workspace's snapshot as the large part of the exposition reads it:
//! the ids of its recipes, connections and job recipes formatted once, so
//! that each family (written for every workspace in turn, see `Metrics`)
//! does not format them again.

use std::collections::HashMap;
use std::fmt::Write;

use crate::snapshot::Snapshot;

pub struct View<'s> {
    pub snapshot: &'s Snapshot,
    /// `recipe_id` of each of `snapshot.recipes`, in order.
    pub recipe_ids: Ids,
    /// `connection_id` of each of `snapshot.connections`, in order.
    pub connection_ids: Ids,
    /// Running recipes binding each connection, by connection id.
    pub running_by_connection: HashMap<u64, u32>,
    /// `recipe_id` of each of `snapshot.jobs.recipes`, in order.
    pub job_recipe_ids: Ids,
}

/// Ids as text, one after the other in a single buffer: a scrape of 5,000
/// recipes would otherwise make (and free) thousands of short strings.
pub struct Ids {
    text: String,
    /// Where each id ends in `text`.
    ends: Vec<usize>,
}

impl Ids {
    fn of(ids: impl ExactSizeIterator<Item = u64>) -> Ids {
        let mut ends = Vec::with_capacity(ids.len());
        // Most ids are five to ten digits.
        let mut text = String::with_capacity(ids.len() * 8);
        for id in ids {
            // Writing into a String cannot fail.
            let _ = write!(text, "{id}");
            ends.push(text.len());
        }
        Ids { text, ends }
    }

    /// The ids in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, end)| &self.text[start..*end])
    }
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
            recipe_ids: Ids::of(snapshot.recipes.iter().map(|r| r.id)),
            connection_ids: Ids::of(snapshot.connections.iter().map(|c| c.id)),
            running_by_connection,
            job_recipe_ids: Ids::of(snapshot.jobs.recipes.iter().map(|r| r.id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ids;

    #[test]
    fn ids_come_back_in_order_from_one_buffer() {
        let ids = Ids::of([7, 0, u64::MAX, 12345].into_iter());
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            ["7", "0", "18446744073709551615", "12345"]
        );
        assert_eq!(Ids::of(std::iter::empty()).iter().count(), 0);
    }
}
