//! How the simulated workspace is first built from a seed: folders,
//! projects, recipes with their triggers and connections, API collections
//! and endpoints, and the recipes the incidents play on.

use std::collections::{BTreeMap, VecDeque};

use crate::config::SimConfig;
use crate::world::{Cast, SimCollection, SimConnection, SimEndpoint, SimRecipe, World};

/// Applications recipes connect to; the first two of each recipe's trio are
/// its trigger and first action.
const APPS: [&str; 12] = [
    "salesforce",
    "netsuite",
    "slack",
    "jira",
    "zendesk",
    "workday",
    "servicenow",
    "hubspot",
    "shopify",
    "snowflake",
    "google_sheets",
    "marketo",
];

const OBJECTS: [&str; 10] = [
    "accounts",
    "invoices",
    "tickets",
    "new hires",
    "orders",
    "leads",
    "incidents",
    "payments",
    "contacts",
    "purchase orders",
];

/// Recipes and connections are spread over this many folders.
const FOLDERS: u64 = 5;
const PROJECTS: [&str; 3] = ["Quote to cash", "Employee lifecycle", "Customer 360"];

/// How Workato spells each application's name.
fn title(app: &str) -> &'static str {
    match app {
        "salesforce" => "Salesforce",
        "netsuite" => "NetSuite",
        "slack" => "Slack",
        "jira" => "Jira",
        "zendesk" => "Zendesk",
        "workday" => "Workday",
        "servicenow" => "ServiceNow",
        "hubspot" => "HubSpot",
        "shopify" => "Shopify",
        "snowflake" => "Snowflake",
        "google_sheets" => "Google Sheets",
        "marketo" => "Marketo",
        _ => "Workato",
    }
}

impl World {
    /// Builds the workspace as it stands at simulated time zero.
    pub fn build(config: &SimConfig, epoch: f64) -> World {
        World::build_offset(config, epoch, 0)
    }

    /// Builds a workspace whose ids (folders, projects, recipes,
    /// connections, collections, endpoints) are shifted by `offset`, so
    /// that Embedded customers built from the same code never share one.
    pub fn build_offset(config: &SimConfig, epoch: f64, offset: u64) -> World {
        let mut rng = fastrand::Rng::with_seed(config.seed);
        let folders: Vec<u64> = (0..FOLDERS).map(|i| offset + 241_550 + i).collect();
        let history = 400.0 * 86_400.0;

        let mut connections: Vec<SimConnection> = (0..config.connections)
            .map(|i| {
                let application = APPS[i % APPS.len()];
                let round = i / APPS.len();
                let name = if round == 0 {
                    title(application).to_string()
                } else {
                    format!("{} {}", title(application), round + 1)
                };
                // A few connections were created but never authorised.
                let never = i % 29 == 28;
                SimConnection {
                    id: offset + 770_000 + i as u64,
                    name,
                    application: application.to_string(),
                    folder_id: folders[i % folders.len()],
                    created_at: epoch - history + rng.f64() * 86_400.0,
                    authorized_at: (!never).then(|| epoch - rng.f64() * 30.0 * 86_400.0),
                    authorization_status: (!never).then_some("success"),
                    authorization_error: None,
                    lost_at: None,
                }
            })
            .collect();

        // One connection was lost days ago and nobody fixed it: the kind of
        // thing the connection panels are for.
        if let Some(stale) = connections.last_mut().filter(|_| config.connections >= 3) {
            stale.authorization_status = Some("failed");
            stale.authorization_error = Some("Token was revoked in the application".to_string());
            stale.lost_at = Some(epoch - 3.0 * 86_400.0 - 1_234.0);
        }

        let api_recipes = config.endpoints.min(config.recipes);
        let mut recipes: Vec<SimRecipe> = (0..config.recipes)
            .map(|i| {
                let is_api = i < api_recipes;
                let trigger = if is_api {
                    "workato_api_platform".to_string()
                } else {
                    APPS[(i * 7) % APPS.len()].to_string()
                };
                let action = APPS[(i * 7 + 1 + i / APPS.len()) % APPS.len()].to_string();
                let object = OBJECTS[i % OBJECTS.len()];
                let name = match (is_api, i / 40) {
                    (true, 0) => format!("API: get {object} from {}", title(&action)),
                    (true, n) => format!("API: get {object} from {} #{}", title(&action), n + 1),
                    (false, 0) => format!("{} → {}: sync {object}", title(&trigger), title(&action)),
                    (false, n) => format!("{} → {}: sync {object} #{}", title(&trigger), title(&action), n + 1),
                };
                let pick = |app: &str| {
                    connections
                        .iter()
                        .filter(|c| c.application == app)
                        .map(|c| c.id)
                        .nth(i % 2)
                };
                let mut config_apps = vec![(action.clone(), pick(&action))];
                if !is_api {
                    config_apps.insert(0, (trigger.clone(), pick(&trigger)));
                }
                let broken = i == config.recipes.saturating_sub(1) && config.recipes > 3;
                let manually_stopped = broken || i % 13 == 12;
                let created_at = epoch - history + i as f64 * 600.0;
                SimRecipe {
                    id: offset + 1_913_000 + i as u64,
                    name: if broken {
                        format!("Draft: {} → {} (unfinished)", title(&trigger), title(&action))
                    } else {
                        name
                    },
                    folder_id: folders[i % folders.len()],
                    project_id: (i % 3 != 2).then_some(offset + 9_910 + (i % PROJECTS.len()) as u64),
                    trigger_application: trigger,
                    action_applications: vec![action],
                    config: config_apps,
                    created_at,
                    updated_at: created_at + rng.f64() * 86_400.0 * 30.0,
                    running: !manually_stopped,
                    stopped_at: manually_stopped.then(|| epoch - rng.f64() * 5.0 * 86_400.0),
                    stop_cause: None,
                    version_no: 1 + rng.u64(0..20),
                    succeeded: if broken { 0 } else { rng.u64(100..50_000) },
                    failed: if broken { 0 } else { rng.u64(0..400) },
                    tasks: 0,
                    last_run_at: None,
                    last_job_started_at: None,
                    broken,
                    jobs_per_minute: 0.2 + rng.f64() * 2.0,
                    failure_rate: 0.005 + rng.f64() * 0.04,
                    median_duration: [0.4, 1.5, 4.0, 20.0, 90.0][rng.usize(0..5)],
                    consecutive_failures: 0,
                    jobs: VecDeque::new(),
                    pending: Vec::new(),
                }
            })
            .collect();
        // One recipe has stood stopped by Workato's action quota for days,
        // waiting for someone to notice.
        if let Some(forgotten) = recipes
            .iter_mut()
            .rev()
            .find(|r| r.running && r.trigger_application != "workato_api_platform")
        {
            forgotten.running = false;
            forgotten.stop_cause = Some("action_quota_limit");
            forgotten.stopped_at = Some(epoch - 2.0 * 86_400.0 - 321.0);
        }
        // Spread the workspace's job rate over its recipes in proportion to
        // their weights, so the total matches the configured rate.
        let weight: f64 = recipes.iter().map(|r| r.jobs_per_minute).sum();
        for recipe in &mut recipes {
            recipe.jobs_per_minute *= config.jobs_per_minute / weight.max(f64::EPSILON);
            recipe.tasks = (recipe.succeeded + recipe.failed) * (2 + recipe.id % 5);
            if recipe.succeeded + recipe.failed > 0 {
                let last = epoch - rng.f64() * 3_600.0;
                recipe.last_run_at = Some(last);
                recipe.last_job_started_at = Some(last);
            }
        }

        let collections: Vec<SimCollection> = (0..config.endpoints.div_ceil(4).clamp(1, 100))
            .map(|i| SimCollection {
                id: offset + 1_360 + i as u64,
                name: match PROJECTS.get(i) {
                    Some(p) => p.to_string(),
                    None => format!("Collection {}", i + 1),
                },
                version: format!("{}.0", 1 + i % 3),
                project_id: Some(offset + 9_910 + (i % PROJECTS.len()) as u64),
            })
            .collect();
        let methods = ["GET", "POST", "PUT", "GET", "DELETE"];
        let endpoints: Vec<SimEndpoint> = (0..config.endpoints)
            .map(|i| {
                let recipe = &recipes[i % api_recipes.max(1)];
                SimEndpoint {
                    id: offset + 9_900 + i as u64,
                    collection_id: collections[i % collections.len().max(1)].id,
                    recipe_id: recipe.id,
                    name: recipe.name.trim_start_matches("API: ").to_string(),
                    method: methods[i % methods.len()],
                    path: format!("{}/{}", OBJECTS[i % OBJECTS.len()].replace(' ', "-"), i / OBJECTS.len()),
                    active: recipe.running,
                }
            })
            .collect();

        let cast =
            (config.incidents && recipes.len() >= 4 && !connections.is_empty() && !endpoints.is_empty()).then(|| {
                let storm_recipe = recipes
                    .iter()
                    .position(|r| r.running && r.trigger_application != "workato_api_platform")
                    .unwrap_or(1);
                let quota_recipe = recipes
                    .iter()
                    .enumerate()
                    .position(|(i, r)| i > storm_recipe && r.running && r.trigger_application != "workato_api_platform")
                    .unwrap_or(2);
                // The scripted recipes do without the connection lost for
                // days: on it they would fail every job after their
                // incident, and the calm part of the cycle would not be calm.
                let long_lost: Vec<u64> = connections
                    .iter()
                    .filter(|c| c.lost_at.is_some())
                    .map(|c| c.id)
                    .collect();
                for index in [storm_recipe, quota_recipe] {
                    recipes[index]
                        .config
                        .retain(|(_, id)| !id.is_some_and(|id| long_lost.contains(&id)));
                }
                // The connection that the most running recipes use makes the
                // loudest outage.
                let lost_connection = (0..connections.len())
                    .filter(|&c| connections[c].lost_at.is_none())
                    .max_by_key(|&c| {
                        recipes
                            .iter()
                            .filter(|r| r.running && r.config.iter().any(|(_, id)| *id == Some(connections[c].id)))
                            .count()
                    })
                    .unwrap_or(0);
                let disabled_endpoint = endpoints.iter().position(|e| e.active).unwrap_or(0);
                recipes[storm_recipe].jobs_per_minute = recipes[storm_recipe].jobs_per_minute.max(8.0);
                recipes[storm_recipe].median_duration = 1.5;
                recipes[storm_recipe].name = "Zendesk → Jira: escalate urgent tickets".to_string();
                recipes[quota_recipe].jobs_per_minute = recipes[quota_recipe].jobs_per_minute.max(4.0);
                Cast {
                    storm_recipe,
                    quota_recipe,
                    lost_connection,
                    disabled_endpoint,
                }
            });

        World {
            rng,
            epoch,
            elapsed: 0,
            workspace_id: 17_000 + config.seed % 1_000,
            workspace_name: "Demo Workspace".to_string(),
            root_folder_id: offset + 241_500,
            recipes,
            connections,
            collections,
            endpoints,
            properties: BTreeMap::from([
                ("demo.environment".to_string(), "simulated".to_string()),
                ("demo.owner".to_string(), "workato_exporter".to_string()),
            ]),
            next_job_seq: 1,
            cast,
            incidents: config.incidents,
            job_retention: config.job_retention,
            job_max_age: None,
            jobs_page_size: config.jobs_page_size,
            recipe_user_id: 17,
            first_job_seq: 1,
            usage: None,
        }
    }
}
