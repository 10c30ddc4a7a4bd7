//! The admin routes as a table: which action a path names, its target id,
//! the methods it takes, and what each action needs and may change.

use hyper::Method;

/// What a request asks for; its name is the `action` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Index,
    RecipeStart,
    RecipeStop,
    EndpointEnable,
    EndpointDisable,
    PropertiesGet,
    PropertiesUpsert,
    Unknown,
}

impl Action {
    pub(super) fn name(self) -> &'static str {
        match self {
            Action::Index => "index",
            Action::RecipeStart => "recipe_start",
            Action::RecipeStop => "recipe_stop",
            Action::EndpointEnable => "endpoint_enable",
            Action::EndpointDisable => "endpoint_disable",
            Action::PropertiesGet => "properties_get",
            Action::PropertiesUpsert => "properties_upsert",
            Action::Unknown => "unknown",
        }
    }

    /// The API client role privilege (Workspace admin › API clients ›
    /// Client roles) the action needs, named when Workato answers 403.
    pub(super) fn privilege(self) -> &'static str {
        match self {
            Action::RecipeStart | Action::RecipeStop => "Projects › Recipes › Start/stop recipes",
            Action::EndpointEnable | Action::EndpointDisable => {
                "API Platform › API collections and endpoints › Enable/disable API endpoints"
            }
            Action::PropertiesGet => "Projects › Project properties › Get project properties",
            Action::PropertiesUpsert => "Projects › Project properties › Upsert project properties",
            Action::Index | Action::Unknown => "none (the exporter does not call Workato for this)",
        }
    }

    pub(super) fn writes(self) -> bool {
        !matches!(self, Action::Index | Action::PropertiesGet | Action::Unknown)
    }

    /// The route a path names, its target id text, and the methods it takes.
    pub(super) fn route(path: &str) -> (Action, Option<&str>, &'static [Method]) {
        const ACT: &[Method] = &[Method::PUT, Method::POST];
        let rest = path.strip_prefix("/admin").unwrap_or(path).trim_matches('/');
        let segments: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        match segments.as_slice() {
            [] => (Action::Index, None, &[Method::GET, Method::HEAD]),
            ["recipes", id, "start"] => (Action::RecipeStart, Some(id), ACT),
            ["recipes", id, "stop"] => (Action::RecipeStop, Some(id), ACT),
            ["api-endpoints", id, "enable"] => (Action::EndpointEnable, Some(id), ACT),
            ["api-endpoints", id, "disable"] => (Action::EndpointDisable, Some(id), ACT),
            ["properties"] => (Action::PropertiesGet, None, &[Method::GET, Method::POST]),
            _ => (Action::Unknown, None, &[]),
        }
    }
}

/// An id as Workato writes them: ASCII digits without sign, space or
/// leading zero, within u64. `+5`, ` 5`, `05` and `0` are refused rather
/// than read as 5 (or 0): the audit log shows the target as it was sent.
pub(super) fn parse_id(text: &str) -> Option<u64> {
    let plain = text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    if plain { text.parse().ok() } else { None }
}

/// Whether a path belongs to the admin route.
pub fn is_admin_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_digits_without_sign_space_or_leading_zero() {
        assert_eq!(parse_id("5"), Some(5));
        assert_eq!(parse_id("1913514"), Some(1_913_514));
        assert_eq!(parse_id("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "+5",
            "-5",
            " 5",
            "5 ",
            "05",
            "0",
            "5.0",
            "5e3",
            "٥",
            "18446744073709551616",
            "%35",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }
}
