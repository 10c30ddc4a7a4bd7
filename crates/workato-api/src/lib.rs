//! `workato_api`: what Workato's developer API is, as both sides of it see
//! it here — the exporter's client, which calls it, and the simulator
//! (`workato_sim`), which imitates it. Facts only: no HTTP, no exporter.
//!
//! - [`group`]: the endpoint groups, each with its own rate limit and the
//!   privilege an API client's role needs to read it.
//! - [`budget`]: Workato's rate limit, N requests per group in any sliding
//!   minute, as a [`Budget`] the client waits on and the simulator enforces.
//! - [`properties`]: the limits on account properties and their check.
//!
//! Each file imports at most the ones listed before it.

pub mod budget;
pub mod group;
pub mod properties;

pub use budget::{Budget, MAX_HOLD};
pub use group::Group;
