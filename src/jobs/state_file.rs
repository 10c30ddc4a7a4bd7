//! `--jobs.state-file`: watermarks, pending jobs and last-read counters on
//! disk, so a restart resumes where the last cycle stopped and ingests what
//! completed in between. Written atomically (temporary file, then rename).
//! A missing, unreadable or corrupt file means a fresh start, with a warning.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Counts, Mark, PendingJob, RecipeJobs};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    recipes: BTreeMap<u64, RecipeState>,
}

#[derive(Serialize, Deserialize)]
struct RecipeState {
    watermark: Option<Mark>,
    #[serde(default)]
    pending: BTreeMap<String, PendingJob>,
    next_ordinal: u64,
    seen: Option<Counts>,
}

/// Reads the state file; any problem is logged and gives an empty state.
pub fn load(path: &Path) -> BTreeMap<u64, RecipeJobs> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(path = %path.display(), "no jobs state file yet; starting fresh");
            return BTreeMap::new();
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read the jobs state file; starting fresh");
            return BTreeMap::new();
        }
    };
    let file: StateFile = match serde_json::from_slice(&text) {
        Ok(file) => file,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the jobs state file is corrupt; starting fresh");
            return BTreeMap::new();
        }
    };
    if file.version != VERSION {
        tracing::warn!(path = %path.display(), version = file.version, "unknown jobs state file version; starting fresh");
        return BTreeMap::new();
    }
    tracing::info!(path = %path.display(), recipes = file.recipes.len(), "resuming job ingestion from the state file");
    file.recipes
        .into_iter()
        .map(|(id, r)| {
            let jobs = RecipeJobs {
                calibrated: true,
                watermark: r.watermark,
                pending: r.pending,
                next_ordinal: r.next_ordinal,
                seen: r.seen,
                ..RecipeJobs::default()
            };
            (id, jobs)
        })
        .collect()
}

/// Writes the calibrated recipes' state atomically; failures are logged.
pub fn save(path: &Path, state: &BTreeMap<u64, RecipeJobs>) {
    let file = StateFile {
        version: VERSION,
        recipes: state
            .iter()
            .filter(|(_, jobs)| jobs.calibrated)
            .map(|(id, jobs)| {
                let recipe = RecipeState {
                    watermark: jobs.watermark.clone(),
                    pending: jobs.pending.clone(),
                    next_ordinal: jobs.next_ordinal,
                    seen: jobs.seen,
                };
                (*id, recipe)
            })
            .collect(),
    };
    if let Err(error) = write_atomically(path, &file) {
        tracing::warn!(path = %path.display(), %error, "cannot write the jobs state file");
    }
}

fn write_atomically(path: &Path, file: &StateFile) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
        serde_json::to_writer(&mut out, file)?;
        out.flush()?;
        out.get_ref().sync_all()?;
    }
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("we-state-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("jobs.json")
    }

    #[test]
    fn state_round_trips_through_the_file() {
        let path = temp("roundtrip");
        let mut state = BTreeMap::new();
        let mut jobs = RecipeJobs {
            calibrated: true,
            watermark: Some(Mark {
                id: "j-abc".into(),
                ordinal: 7,
            }),
            next_ordinal: 8,
            seen: Some(Counts {
                succeeded: Some(3),
                failed: Some(1),
                last_run_at: Some(12.5),
                last_job_started_at: Some(13.0),
            }),
            ..RecipeJobs::default()
        };
        jobs.pending.insert(
            "j-pending".into(),
            PendingJob {
                ordinal: 6,
                after: Some("j-before".into()),
            },
        );
        state.insert(42, jobs);
        state.insert(43, RecipeJobs::default());
        save(&path, &state);
        let loaded = load(&path);
        assert_eq!(loaded.len(), 1, "uncalibrated recipes are not saved");
        let back = &loaded[&42];
        assert_eq!(
            back.watermark.as_ref().map(|w| (w.id.as_str(), w.ordinal)),
            Some(("j-abc", 7))
        );
        assert_eq!(
            back.pending.get("j-pending").map(|p| (p.ordinal, p.after.as_deref())),
            Some((6, Some("j-before")))
        );
        assert_eq!(back.next_ordinal, 8);
        assert_eq!(back.seen.and_then(|s| s.succeeded), Some(3));
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn missing_or_corrupt_files_mean_a_fresh_start() {
        assert!(load(&temp("missing").with_file_name("nothing-here.json")).is_empty());
        let path = temp("corrupt");
        std::fs::write(&path, b"{\"version\": 1, \"recipes\": {\"1\": ").unwrap();
        assert!(load(&path).is_empty());
        std::fs::write(&path, b"{\"version\": 99, \"recipes\": {}}").unwrap();
        assert!(load(&path).is_empty());
    }
}
