//! The Embedded API's rate limits (WORKATO_EMBEDDED.md, "Hosts, auth,
//! limits"): one quota per group for the whole Embed admin workspace,
//! whichever customer a call targets. Each group is a sliding-minute
//! [`Budget`] of its own; `workato_api`'s groups are the developer API's, so
//! each budget here uses one of its slots only.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};
use tokio::time::Instant;
use workato_api::{Budget, Group};

/// The Embedded API's rate-limit groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedGroup {
    /// List and get customers, other manage-customer calls.
    Customers,
    /// The usage endpoints (v1 and v2).
    Usage,
    ListRecipes,
    GetRecipe,
    /// Other recipe calls, start and stop among them.
    RecipeActions,
    Jobs,
    Connections,
    Properties,
    PropertiesUpsert,
    /// API collections and endpoints, their switches.
    ApiPlatform,
}

impl EmbeddedGroup {
    pub const ALL: [EmbeddedGroup; 10] = [
        EmbeddedGroup::Customers,
        EmbeddedGroup::Usage,
        EmbeddedGroup::ListRecipes,
        EmbeddedGroup::GetRecipe,
        EmbeddedGroup::RecipeActions,
        EmbeddedGroup::Jobs,
        EmbeddedGroup::Connections,
        EmbeddedGroup::Properties,
        EmbeddedGroup::PropertiesUpsert,
        EmbeddedGroup::ApiPlatform,
    ];

    /// The name `/sim/stats` reports it under.
    pub fn name(self) -> &'static str {
        match self {
            EmbeddedGroup::Customers => "customers",
            EmbeddedGroup::Usage => "usage",
            EmbeddedGroup::ListRecipes => "list_recipes",
            EmbeddedGroup::GetRecipe => "get_recipe",
            EmbeddedGroup::RecipeActions => "recipe_actions",
            EmbeddedGroup::Jobs => "jobs",
            EmbeddedGroup::Connections => "connections",
            EmbeddedGroup::Properties => "properties",
            EmbeddedGroup::PropertiesUpsert => "properties_upsert",
            EmbeddedGroup::ApiPlatform => "api_platform",
        }
    }

    /// Requests a minute Workato documents for the admin workspace.
    pub fn documented_per_minute(self) -> u32 {
        match self {
            EmbeddedGroup::Customers | EmbeddedGroup::PropertiesUpsert => 60,
            EmbeddedGroup::ListRecipes | EmbeddedGroup::GetRecipe => 2_000,
            _ => 1_000,
        }
    }

    /// The documented quota scaled by `rate_limit / 60`: the simulator's
    /// `--rate-limit` is the developer API's per-group quota (Workato: 60),
    /// so its default leaves the Embedded table as documented, and a test
    /// that sets 6 meets every Embedded limit ten times sooner.
    pub fn per_minute(self, rate_limit: NonZeroU32) -> NonZeroU32 {
        let scaled = u64::from(self.documented_per_minute()) * u64::from(rate_limit.get()) / 60;
        NonZeroU32::new(scaled.clamp(1, u64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN)
    }
}

/// The admin workspace's Embedded budgets and their counters.
pub struct Limits {
    budgets: Vec<Budget>,
    requests: [AtomicU64; EmbeddedGroup::ALL.len()],
    throttled: [AtomicU64; EmbeddedGroup::ALL.len()],
}

/// The slot of `workato_api`'s [`Budget`] that each Embedded budget uses.
const SLOT: Group = Group::Workspace;

impl Limits {
    pub fn new(rate_limit: NonZeroU32) -> Limits {
        Limits {
            budgets: EmbeddedGroup::ALL
                .iter()
                .map(|g| Budget::new(g.per_minute(rate_limit)))
                .collect(),
            requests: Default::default(),
            throttled: Default::default(),
        }
    }

    /// Counts the request against its group's quota; `Err(seconds)` is the
    /// `Retry-After` of a 429.
    pub fn admit(&self, group: EmbeddedGroup) -> Result<(), u64> {
        self.requests[group as usize].fetch_add(1, Ordering::Relaxed);
        self.budgets[group as usize].try_acquire(SLOT).map(drop).map_err(|at| {
            self.throttled[group as usize].fetch_add(1, Ordering::Relaxed);
            at.saturating_duration_since(Instant::now())
                .as_secs_f64()
                .ceil()
                .max(1.0) as u64
        })
    }

    /// 429s answered so far, all Embedded groups together.
    pub fn throttled_total(&self) -> u64 {
        self.throttled.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// `{"requests": {group: n}, "throttled": {group: n}}`.
    pub fn stats(&self) -> Value {
        let per_group = |counters: &[AtomicU64; EmbeddedGroup::ALL.len()]| {
            EmbeddedGroup::ALL
                .iter()
                .map(|g| {
                    (
                        g.name().to_string(),
                        json!(counters[*g as usize].load(Ordering::Relaxed)),
                    )
                })
                .collect::<Map<_, _>>()
        };
        json!({"requests": per_group(&self.requests), "throttled": per_group(&self.throttled)})
    }
}
