//! What Workato said to an action (start or stop a recipe, enable or
//! disable an API endpoint): the one model type the actions share.

/// What Workato said to a start or stop.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionOutcome {
    Done,
    /// HTTP 200 with `success: false`: Workato's whole reply, with its
    /// `code_errors` and `config_errors`.
    Refused(serde_json::Value),
}
