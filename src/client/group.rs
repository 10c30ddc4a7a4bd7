//! Workato's endpoint groups (each with its own rate limit and role
//! privilege) and the routes the client calls.

use reqwest::Method;

/// Workato's rate-limit groups (WORKATO_API.md); each has its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Recipes,
    Jobs,
    Connections,
    ApiPlatform,
    Properties,
    Workspace,
}

impl Group {
    pub const ALL: [Group; 6] = [
        Group::Recipes,
        Group::Jobs,
        Group::Connections,
        Group::ApiPlatform,
        Group::Properties,
        Group::Workspace,
    ];

    /// The `group` label value.
    pub fn name(self) -> &'static str {
        match self {
            Group::Recipes => "recipes",
            Group::Jobs => "jobs",
            Group::Connections => "connections",
            Group::ApiPlatform => "api_platform",
            Group::Properties => "properties",
            Group::Workspace => "workspace",
        }
    }

    /// The privilege of an API client role (Workspace admin › API clients ›
    /// Client roles) that this group's read endpoints need.
    pub fn privilege(self) -> &'static str {
        match self {
            Group::Recipes => "Projects › Recipes › List recipes",
            Group::Jobs => "Projects › Jobs › List jobs",
            Group::Connections => "Projects › Connections › List connections",
            Group::ApiPlatform => {
                "API Platform › API collections and endpoints › List API collections, List API endpoints"
            }
            Group::Properties => "Projects › Project properties › Get project properties",
            Group::Workspace => "Admin › Workspace details › Get workspace details",
        }
    }
}

/// One Workato route: its label in metrics (the route template), its
/// method and the budget it draws from.
#[derive(Debug, Clone)]
pub struct Route {
    pub label: &'static str,
    pub method: Method,
    pub group: Group,
    /// Whether a 5xx or a timeout may be answered by sending the request
    /// again. Not for start, stop, enable and disable: Workato may have
    /// applied the first before failing to answer, and the second then
    /// comes back 400 ("already running"). Their callers re-read the state
    /// instead. A 429 is always retried: Workato did not take the request.
    pub blind_retry: bool,
}
