//! A customer workspace's own record (a managed user): its ids, name, plan
//! and billing, drawn from the seed, and rendered as `GET
//! /api/managed_users/:id` answers it, with counts read from its world.

use serde_json::{Value, json};

use crate::json::time;
use crate::world::World;

const COMPANIES: [&str; 16] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Pied Piper",
    "Gringotts",
    "Oscorp",
    "Aperture",
];
const TRADES: [&str; 8] = [
    "Industries",
    "Labs",
    "Logistics",
    "Health",
    "Retail",
    "Capital",
    "Foods",
    "Energy",
];

/// What Workato keeps about a customer beyond its workspace's contents.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: u64,
    pub external_id: Option<String>,
    pub name: String,
    pub plan_id: &'static str,
    pub trial: bool,
    pub in_trial: bool,
    pub task_limit: u64,
    /// 0: no limit (as the FYLE recording shows for an enterprise plan).
    pub active_connection_limit: u64,
    pub created_at: f64,
    pub updated_at: f64,
    pub billing_start: f64,
    pub billing_end: f64,
    /// Tasks of the billing period spent before simulated time zero.
    pub tasks_before: u64,
    /// The world's lifetime task total at simulated time zero.
    pub tasks_at_zero: u64,
    /// This customer's share of the mean job rate: most are quiet (about
    /// 0.05), some moderate (about 1), one in ten busy (about 6.7); the
    /// mean is about 1.
    pub activity: f64,
}

impl Profile {
    /// The `index`-th customer, from its own generator.
    pub fn draw(index: usize, rng: &mut fastrand::Rng, epoch: f64) -> Profile {
        let id = 4_300_000 + index as u64 * 16 + rng.u64(0..16);
        // Most customers carry the partner's own key; some need escaping
        // in a path (`E` + URL-encoded), a few have none.
        let external_id = match index % 10 {
            9 => None,
            4 => Some(format!("org {:05}/eu", 2_300 + index)),
            _ => Some(format!("A{}", 2_300 + index)),
        };
        let company = COMPANIES[index % COMPANIES.len()];
        let trade = TRADES[(index / COMPANIES.len()) % TRADES.len()];
        let round = index / (COMPANIES.len() * TRADES.len());
        let name = match round {
            0 => format!("{company} {trade}"),
            n => format!("{company} {trade} {}", n + 1),
        };
        let (plan_id, trial, task_limit, active_connection_limit) = match rng.u32(0..10) {
            0 => ("oem_trial", true, 10_000, 5),
            1..=5 => ("oem_standard", false, 100_000, 25),
            _ => ("oem_enterprise", false, 1_000_000, 0),
        };
        let activity = match rng.f64() {
            x if x < 0.1 => 4.0 + rng.f64() * 5.4,
            x if x < 0.4 => 0.5 + rng.f64(),
            _ => rng.f64() * 0.1,
        };
        let days = 86_400.0;
        let created_at = epoch - (30.0 + rng.f64() * 700.0) * days;
        let billing_start = epoch - rng.u32(1..30) as f64 * days;
        let tasks_before = (task_limit as f64 * rng.f64() * 0.5 * activity.min(1.5)) as u64;
        Profile {
            id,
            external_id,
            name,
            plan_id,
            trial,
            // A trial customer may be past its trial (Workato keeps both).
            in_trial: trial && !index.is_multiple_of(3),
            task_limit,
            active_connection_limit,
            created_at,
            updated_at: epoch - rng.f64() * 20.0 * days,
            billing_start,
            billing_end: billing_start + 30.0 * days,
            tasks_before,
            tasks_at_zero: 0,
            activity,
        }
    }

    /// Tasks spent in the current billing period.
    pub fn task_count(&self, w: &World) -> u64 {
        let lifetime: u64 = w.recipes.iter().map(|r| r.tasks).sum();
        self.tasks_before + lifetime.saturating_sub(self.tasks_at_zero)
    }

    /// The customer as List and Get customer answer it.
    pub fn render(&self, w: &World) -> Value {
        let running = w.recipes.iter().filter(|r| r.running).count();
        let connected = w
            .connections
            .iter()
            .filter(|c| c.authorization_status == Some("success"))
            .count();
        let slug: String = self
            .name
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        json!({
            "id": self.id,
            "external_id": self.external_id,
            "name": self.name,
            "environments": [],
            "notification_email": format!("ops@{slug}.example.com"),
            "admin_notification_emails": [format!("admin@{slug}.example.com")],
            "error_notification_emails": [],
            "plan_id": self.plan_id,
            "trial": self.trial,
            "in_trial": self.in_trial,
            "origin_url": format!("https://{slug}.example.com"),
            "frame_ancestors": format!("https://{slug}.example.com"),
            "whitelisted_apps": [],
            "full_embedding": false,
            "time_zone": "Pacific Time (US & Canada)",
            "team_name": self.name,
            "auth_settings": null,
            "created_at": time(self.created_at),
            "updated_at": time(self.updated_at),
            "current_billing_period_start": time(self.billing_start),
            "current_billing_period_end": time(self.billing_end),
            "task_count": self.task_count(w),
            "task_limit": self.task_limit,
            "task_limit_adjustment": null,
            "active_connection_limit": self.active_connection_limit,
            "active_connection_count": connected,
            "active_recipe_count": running,
        })
    }
}
