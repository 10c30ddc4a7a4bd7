//! `POST /api/v2/managed_users/statistics/usage`: task usage and succeeded
//! and failed jobs of many customer workspaces in one call.
//!
//! Workato documents the parameters (`from`, `to` in ISO 8601, `interval`
//! of `none|year|month|week|day|hour`, `workspace_ids` or `external_ids`)
//! but not the response; this shape is **our guess**:
//!
//! ```json
//! {"from": "...", "to": "...", "interval": "hour",
//!  "result": [{"workspace_id": 4300003, "external_id": "A2300", "name": "Acme Industries",
//!              "recipe_count": 25, "active_recipe_count": 22,
//!              "task_count": 120, "succeeded_job_count": 40, "failed_job_count": 2,
//!              "usage": [{"period_start": "...", "period_end": "...",
//!                         "task_count": 60, "succeeded_job_count": 20, "failed_job_count": 1}]}]}
//! ```
//!
//! A job counts in the period holding its `completed_at` (`[from, to)`,
//! whole seconds), so the counts agree with the jobs the jobs API lists;
//! completions older than the jobs kept (two hours by default) count by
//! the hour they fell in, and jobs completed before simulated time zero
//! are not in them. Periods are
//! cut at the workspace time zone's (UTC-8) hour, day, Monday, month and
//! year boundaries, at most [`MAX_PERIODS`] of them. The parameters come
//! from a JSON body, or from the query string (ids comma-separated).
//! Neither `workspace_ids` nor `external_ids` means every customer; ids
//! that name no customer are left out of `result`; at most [`MAX_IDS`].
//! `recipe_name_pattern` is refused (400): per-recipe usage is not kept.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate};
use hyper::StatusCode;
use serde_json::{Value, json};

use super::Embedded;
use crate::json::time;
use crate::routes::{Reply, bad_request};
use crate::world::{Usage, UsageLog};

/// The most periods one answer holds.
pub const MAX_PERIODS: usize = 1_000;
/// The most workspace or external ids one call may name.
pub const MAX_IDS: usize = 1_000;
/// The simulated workspaces' UTC offset, in seconds (as `json` renders).
const OFFSET: i64 = -8 * 3_600;

/// How the period is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    None,
    Year,
    Month,
    Week,
    Day,
    Hour,
}

impl Interval {
    fn parse(text: &str) -> Option<Interval> {
        Some(match text {
            "" | "none" => Interval::None,
            "year" => Interval::Year,
            "month" => Interval::Month,
            "week" => Interval::Week,
            "day" => Interval::Day,
            "hour" => Interval::Hour,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Interval::None => "none",
            Interval::Year => "year",
            Interval::Month => "month",
            Interval::Week => "week",
            Interval::Day => "day",
            Interval::Hour => "hour",
        }
    }

    /// The first boundary after `t` (Unix seconds), `None` for no cut.
    fn next(self, t: i64) -> Option<i64> {
        let local = t + OFFSET;
        let days = local.div_euclid(86_400);
        let first_of = |date: Option<NaiveDate>| {
            date.and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().timestamp() - OFFSET)
        };
        let date = DateTime::from_timestamp(local, 0).map(|d| d.date_naive());
        match self {
            Interval::None => None,
            Interval::Hour => Some((local.div_euclid(3_600) + 1) * 3_600 - OFFSET),
            Interval::Day => Some((days + 1) * 86_400 - OFFSET),
            // 1970-01-01 was a Thursday, three days after a Monday.
            Interval::Week => Some((days - (days + 3).rem_euclid(7) + 7) * 86_400 - OFFSET),
            Interval::Month => first_of(date.and_then(|d| {
                let (year, month) = if d.month() == 12 {
                    (d.year() + 1, 1)
                } else {
                    (d.year(), d.month() + 1)
                };
                NaiveDate::from_ymd_opt(year, month, 1)
            })),
            Interval::Year => first_of(date.and_then(|d| NaiveDate::from_ymd_opt(d.year() + 1, 1, 1))),
        }
    }
}

/// ISO 8601 with an offset, or a date (midnight in the workspace's zone).
fn instant(text: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Some(t.timestamp());
    }
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp() - OFFSET)
}

/// A parameter from the JSON body, else from the query string.
fn param(body: &Value, q: &HashMap<String, String>, key: &str) -> Option<Value> {
    body.get(key)
        .cloned()
        .filter(|v| !v.is_null())
        .or_else(|| q.get(key).map(|v| Value::String(v.clone())))
}

/// A list parameter's items as text: a JSON array, or comma-separated.
fn list(value: Option<Value>) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    };
    match value {
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(other) => vec![text(&other)],
        None => Vec::new(),
    }
}

/// Answers a usage statistics call, counting it for each customer named.
pub fn statistics(embedded: &Embedded, elapsed: u64, q: &HashMap<String, String>, body: Option<&[u8]>) -> Reply {
    let body: Value = match body.filter(|b| !b.iter().all(u8::is_ascii_whitespace)) {
        Some(bytes) => serde_json::from_slice(bytes).map_err(|e| bad_request(format!("Malformed JSON: {e}")))?,
        None => Value::Null,
    };
    let text = |key: &str| param(&body, q, key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
    let required = |key: &str| {
        let value = text(key).ok_or_else(|| bad_request(format!("Missing parameter: {key}")))?;
        instant(&value).ok_or_else(|| bad_request(format!("Invalid {key}: expected ISO 8601, got {value:?}")))
    };
    let (from, to) = (required("from")?, required("to")?);
    if from >= to {
        return Err(bad_request("from must be before to"));
    }
    let interval_text = text("interval").unwrap_or_default();
    let interval =
        Interval::parse(&interval_text).ok_or_else(|| bad_request(format!("Invalid interval: {interval_text:?}")))?;
    if param(&body, q, "recipe_name_pattern").is_some() {
        return Err((StatusCode::BAD_REQUEST, "recipe_name_pattern is not simulated".into()));
    }
    let mut periods = Vec::new();
    let mut start = from;
    while start < to {
        if periods.len() == MAX_PERIODS {
            return Err(bad_request(format!(
                "More than {MAX_PERIODS} periods: widen the interval"
            )));
        }
        let end = interval.next(start).map_or(to, |b| b.min(to));
        periods.push((start, end));
        start = end;
    }
    let (ids, external_ids) = (
        list(param(&body, q, "workspace_ids")),
        list(param(&body, q, "external_ids")),
    );
    if ids.len() + external_ids.len() > MAX_IDS {
        return Err(bad_request(format!(
            "At most {MAX_IDS} workspace or external ids per call"
        )));
    }
    let mut chosen: Vec<usize> = if ids.is_empty() && external_ids.is_empty() {
        (0..embedded.customers.len()).collect()
    } else {
        let by_id = ids
            .iter()
            .filter_map(|id| id.parse().ok().and_then(|id| embedded.by_id(id)));
        let by_external = external_ids.iter().filter_map(|e| embedded.by_external_id(e));
        by_id.chain(by_external).collect()
    };
    chosen.sort_unstable();
    chosen.dedup();

    let as_seconds = |t: i64| t.max(0) as u64;
    let counts =
        |u: &Usage| json!({"task_count": u.tasks, "succeeded_job_count": u.succeeded, "failed_job_count": u.failed});
    let result: Vec<Value> = chosen
        .into_iter()
        .map(|index| {
            embedded.count_usage_call(index);
            let profile = &embedded.customers[index].profile;
            let w = embedded.world(index, elapsed);
            let empty = UsageLog::default();
            let log = w.usage.as_ref().unwrap_or(&empty);
            let mut total = Usage::default();
            let usage: Vec<Value> = periods
                .iter()
                .map(|&(start, end)| {
                    let u = log.between(as_seconds(start), as_seconds(end));
                    total.add(u);
                    let mut row = counts(&u);
                    row["period_start"] = time(start as f64);
                    row["period_end"] = time(end as f64);
                    row
                })
                .collect();
            let mut row = counts(&total);
            row["workspace_id"] = json!(profile.id);
            row["external_id"] = json!(profile.external_id);
            row["name"] = json!(profile.name);
            row["recipe_count"] = json!(w.recipes.len());
            row["active_recipe_count"] = json!(w.recipes.iter().filter(|r| r.running).count());
            row["usage"] = Value::Array(usage);
            row
        })
        .collect();
    Ok(json!({
        "from": time(from as f64),
        "to": time(to as f64),
        "interval": interval.name(),
        "result": result,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        instant(text).expect("a valid instant")
    }

    #[test]
    fn periods_are_cut_at_the_workspace_zones_boundaries() {
        // 2026-11-25 is a Wednesday; the zone is UTC-8.
        let t = at("2026-11-25T10:30:00-08:00");
        assert_eq!(Interval::Hour.next(t), Some(at("2026-11-25T11:00:00-08:00")));
        assert_eq!(Interval::Day.next(t), Some(at("2026-11-26T00:00:00-08:00")));
        assert_eq!(Interval::Week.next(t), Some(at("2026-11-30T00:00:00-08:00")));
        assert_eq!(Interval::Month.next(t), Some(at("2026-12-01T00:00:00-08:00")));
        assert_eq!(
            Interval::Month.next(at("2026-12-31T23:00:00-08:00")),
            Some(at("2027-01-01T00:00:00-08:00"))
        );
        assert_eq!(Interval::Year.next(t), Some(at("2027-01-01T00:00:00-08:00")));
        assert_eq!(Interval::None.next(t), None);
        // On a boundary, the next one is a whole period later.
        assert_eq!(
            Interval::Day.next(at("2026-11-26T00:00:00-08:00")),
            Some(at("2026-11-27T00:00:00-08:00"))
        );
    }

    #[test]
    fn a_date_alone_is_midnight_in_the_workspace_zone() {
        assert_eq!(instant("2026-11-25"), Some(at("2026-11-25T00:00:00-08:00")));
        assert_eq!(instant("yesterday"), None);
    }
}
