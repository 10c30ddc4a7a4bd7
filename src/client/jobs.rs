//! `GET /api/recipes/:id/jobs` and `GET /api/recipes/:id/jobs/:job_id`.

use reqwest::Method;

use super::decode::{decode_list, decode_one};
use super::group::{Group, Route};
use super::transport::Client;
use super::wire::JobWire;
use crate::error::Result;
use crate::snapshot::Job;

pub const LIST_JOBS: Route = Route {
    label: "GET /api/recipes/:id/jobs",
    method: Method::GET,
    group: Group::Jobs,
    blind_retry: true,
};

pub const GET_JOB: Route = Route {
    label: "GET /api/recipes/:id/jobs/:job_id",
    method: Method::GET,
    group: Group::Jobs,
    blind_retry: true,
};

/// Which jobs of a recipe to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobsQuery<'a> {
    /// Page relative to this job: older than it, or newer with `newer`.
    pub offset_job_id: Option<&'a str>,
    /// `prev=true`: the jobs just newer than the offset.
    pub newer: bool,
    /// Only jobs in this state (`succeeded`, `failed`, `pending`).
    pub status: Option<&'a str>,
}

impl Client {
    /// One page of a recipe's jobs, newest first, in Workato's (undocumented)
    /// page size. Malformed jobs are logged and skipped; the second value is
    /// the number of jobs the page held, malformed ones included.
    pub async fn jobs(&self, recipe_id: u64, query: JobsQuery<'_>) -> Result<(Vec<Job>, usize)> {
        let mut params = Vec::new();
        if let Some(offset) = query.offset_job_id {
            params.push(("offset_job_id", offset.to_string()));
            params.push(("prev", query.newer.to_string()));
        }
        if let Some(status) = query.status {
            params.push(("status", status.to_string()));
        }
        let body = self
            .send(&LIST_JOBS, &format!("recipes/{recipe_id}/jobs"), &params)
            .await?;
        let page = decode_list::<JobWire, Job>(LIST_JOBS.label, &body)?;
        Ok((page.items, page.raw_len))
    }

    /// One job, by id.
    pub async fn job(&self, recipe_id: u64, job_id: &str) -> Result<Job> {
        let path = format!("recipes/{recipe_id}/jobs/{}", encode_segment(job_id));
        let body = self.send(&GET_JOB, &path, &[]).await?;
        Ok(decode_one::<JobWire>(GET_JOB.label, &body)?.into())
    }
}

/// Percent-encodes a path segment (job ids come from outside the process).
fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn job_ids_are_safe_in_a_path() {
        assert_eq!(super::encode_segment("j-KGAKfhsz-GYoLe"), "j-KGAKfhsz-GYoLe");
        assert_eq!(super::encode_segment("../x?y"), "..%2Fx%3Fy");
    }
}
