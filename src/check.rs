//! `workato_exporter check`: one call per endpoint group with the configured
//! credentials, and a table of what the API client may read. The answer to
//! "why do I only see the exporter's own metrics?".

use std::fmt::Write;

use crate::client::{Client, Group};
use crate::error::Error;

/// The outcome of probing one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Refused by nature (users/me for API clients without DEV access):
    /// the exporter does without it.
    NotAvailable,
    Unauthorized,
    MissingPrivilege,
    Unreachable(String),
    Error(String),
}

impl Verdict {
    fn from_result(result: &Result<Option<u64>, Error>, group: Group) -> Verdict {
        match result {
            Ok(_) => Verdict::Ok,
            // The jobs probe without a recipe asks for recipe 0: not found
            // means the role let the request through.
            Err(Error::Status { status: 404, .. }) if group == Group::Jobs => Verdict::Ok,
            Err(Error::Unauthorized { .. }) => Verdict::Unauthorized,
            Err(Error::Forbidden { .. }) if group == Group::Workspace => Verdict::NotAvailable,
            Err(Error::Forbidden { .. }) => Verdict::MissingPrivilege,
            Err(Error::Transport { reason, .. }) => Verdict::Unreachable(reason.clone()),
            Err(other) => Verdict::Error(other.to_string()),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::NotAvailable => "not available",
            Verdict::Unauthorized => "unauthorized",
            Verdict::MissingPrivilege => "missing privilege",
            Verdict::Unreachable(_) => "unreachable",
            Verdict::Error(_) => "error",
        }
    }
}

/// Probes every group in turn (recipes before jobs, whose probe reads the
/// jobs of the first recipe found).
pub async fn run(client: &Client) -> Vec<(Group, Verdict)> {
    let mut verdicts = Vec::new();
    let mut recipe_id = None;
    for group in Group::ALL {
        let result = client.probe(group, recipe_id).await;
        if group == Group::Recipes {
            recipe_id = result.as_ref().ok().copied().flatten();
        }
        verdicts.push((group, Verdict::from_result(&result, group)));
    }
    verdicts
}

/// The table `check` prints, and whether every group is ok.
pub fn report(verdicts: &[(Group, Verdict)]) -> (String, bool) {
    let mut out = String::new();
    let _ = writeln!(out, "{:<14} {:<18} DETAIL", "GROUP", "RESULT");
    for (group, verdict) in verdicts {
        let detail = match verdict {
            Verdict::Ok => String::new(),
            Verdict::NotAvailable => crate::snapshot::WORKSPACE_NOT_AVAILABLE.replacen("not available ", "", 1),
            Verdict::Unauthorized => {
                "Workato rejected the token: check WORKATO_API_TOKEN or --workato.token-file".into()
            }
            Verdict::MissingPrivilege => format!("grant the API client's role: {}", group.privilege()),
            Verdict::Unreachable(reason) | Verdict::Error(reason) => reason.clone(),
        };
        let _ = writeln!(out, "{:<14} {:<18} {}", group.name(), verdict.label(), detail);
    }
    let all_ok = verdicts
        .iter()
        .all(|(_, v)| matches!(v, Verdict::Ok | Verdict::NotAvailable));
    (out, all_ok)
}
