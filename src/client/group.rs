//! The routes the client calls, each in one of Workato's endpoint groups
//! (which live in the `workato_api` crate, shared with the simulator).

use reqwest::Method;
pub use workato_api::Group;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_names_a_privilege() {
        for group in Group::ALL {
            assert!(group.privilege().contains('›'), "{group:?}");
        }
    }
}
