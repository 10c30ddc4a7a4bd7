//! `workato_exporter check`: one call per endpoint group with the configured
//! credentials, and a table of what the API client may read. The answer to
//! "why do I only see the exporter's own metrics?".
//!
//! It answers within `--workato.timeout`: calls are never retried, the
//! groups share one deadline, and once Workato cannot be reached (or
//! rejects the token) the remaining groups are not tried, since they would
//! only fail the same way — the reason is printed once.

use std::fmt::Write;
use std::time::Duration;

use tokio::time::Instant;

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
    /// Not called: an earlier group found Workato unreachable or the token
    /// rejected, or the deadline had passed. Says why, briefly.
    NotTried(String),
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

    /// Whether every other group would fail the same way.
    fn ends_the_check(&self) -> bool {
        matches!(self, Verdict::Unauthorized | Verdict::Unreachable(_))
    }

    fn label(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::NotAvailable => "not available",
            Verdict::Unauthorized => "unauthorized",
            Verdict::MissingPrivilege => "missing privilege",
            Verdict::Unreachable(_) => "unreachable",
            Verdict::Error(_) => "error",
            Verdict::NotTried(_) => "not tried",
        }
    }
}

/// Probes every group in turn (recipes before jobs, whose probe reads the
/// jobs of the first recipe found), all within `within`.
pub async fn run(client: &Client, within: Duration) -> Vec<(Group, Verdict)> {
    let deadline = Instant::now() + within;
    let mut verdicts: Vec<(Group, Verdict)> = Vec::new();
    let mut recipe_id = None;
    for group in Group::ALL {
        let ended = verdicts.iter().find(|(_, v)| v.ends_the_check());
        if let Some((failed, _)) = ended {
            verdicts.push((group, Verdict::NotTried(format!("same cause as {}", failed.name()))));
            continue;
        }
        if Instant::now() >= deadline {
            verdicts.push((
                group,
                Verdict::NotTried(format!("--workato.timeout ({within:?}) ran out")),
            ));
            continue;
        }
        let verdict = match tokio::time::timeout_at(deadline, client.probe(group, recipe_id)).await {
            Ok(result) => {
                if group == Group::Recipes {
                    recipe_id = result.as_ref().ok().copied().flatten();
                }
                Verdict::from_result(&result, group)
            }
            Err(_) => Verdict::Unreachable(format!("no answer within --workato.timeout ({within:?})")),
        };
        verdicts.push((group, verdict));
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
            Verdict::Unreachable(reason) | Verdict::Error(reason) | Verdict::NotTried(reason) => reason.clone(),
        };
        let _ = writeln!(out, "{:<14} {:<18} {}", group.name(), verdict.label(), detail);
    }
    let all_ok = verdicts
        .iter()
        .all(|(_, v)| matches!(v, Verdict::Ok | Verdict::NotAvailable));
    (out, all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_after_an_unreachable_workato_are_not_tried_and_the_reason_is_said_once() {
        let reason = "error sending request: connection refused";
        let verdicts: Vec<(Group, Verdict)> = Group::ALL
            .iter()
            .enumerate()
            .map(|(i, &g)| {
                let v = if i == 0 {
                    Verdict::Unreachable(reason.into())
                } else {
                    Verdict::NotTried("same cause as recipes".into())
                };
                (g, v)
            })
            .collect();
        let (table, all_ok) = report(&verdicts);
        assert!(!all_ok);
        assert_eq!(table.lines().count(), 1 + Group::ALL.len(), "{table}");
        assert_eq!(table.matches(reason).count(), 1, "{table}");
        assert_eq!(table.matches("not tried").count(), Group::ALL.len() - 1, "{table}");
    }
}
