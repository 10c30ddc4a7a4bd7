//! Workato's endpoint groups: each has its own rate limit (60 requests a
//! minute) and needs its own privilege of the API client's role.

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
