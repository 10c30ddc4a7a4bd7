//! `--jobs.state-file`: what job ingestion knows and has counted, on disk,
//! so a restart (SIGTERM or kill -9, at any moment) resumes where the last
//! page stopped, counts what completed in between, and counts nothing twice.
//!
//! Per recipe the file keeps the watermark, the pending jobs, the counters
//! last read and what was observed (or, for a recipe not read yet, its
//! baseline) (duration histograms, errors by type), so
//! counters continue across restarts instead of starting again from zero.
//! Two files:
//!
//! - `PATH`, the whole state, written atomically (temporary file, then
//!   rename) at the end of each cycle;
//! - `PATH.journal`, one JSON line per change of a recipe since then,
//!   appended under the tracker's lock before the change can be scraped, so
//!   the state on disk is never behind what Prometheus has seen.
//!
//! Loading reads the whole state, then replays the journal (a line cut short
//! by a kill is skipped). A missing, unreadable or corrupt file means a fresh
//! start, with a warning. The failure ratio's window is not kept: after a
//! restart it fills again from the jobs that complete.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::baseline::FirstRead;
use super::{Counts, Mark, PendingJob, RecipeJobs};
use crate::snapshot::{DURATION_BUCKETS, Delays, Histogram, NativeHistogram};

const VERSION: u32 = 1;

/// `R` is the recipes as read (a map of [`RecipeState`]) or as written
/// ([`Recipes`]).
#[derive(Serialize, Deserialize)]
struct StateFile<R = BTreeMap<u64, RecipeState>> {
    version: u32,
    recipes: R,
    /// `workato_job_ingestion_delay_seconds`; absent from older files.
    #[serde(default)]
    delays: Option<HistogramState>,
}

#[derive(Serialize, Deserialize)]
struct RecipeState {
    watermark: Option<Mark>,
    #[serde(default)]
    pending: BTreeMap<String, PendingJob>,
    next_ordinal: u64,
    seen: Option<Counts>,
    /// What was counted; absent from older files (counters start at zero)
    /// and for a recipe not yet read.
    #[serde(default)]
    observed: Option<Observed>,
    /// A recipe not yet read: its counts when first seen (absent from older
    /// files, which held read recipes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    baseline: Option<Counts>,
    /// A first read with older pages still to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_read: Option<FirstRead>,
}

/// The counters of one recipe: durations by status, errors by type.
#[derive(Serialize, Deserialize)]
struct Observed {
    succeeded: HistogramState,
    failed: HistogramState,
    errors: Vec<(String, String, u64)>,
    /// The native buckets of `succeeded` and `failed`; absent from older
    /// files (rebuilt from the classic buckets, so both count the same jobs).
    #[serde(default)]
    native: Option<[NativeState; 2]>,
}

#[derive(Serialize, Deserialize)]
struct NativeState {
    schema: i8,
    zero_count: u64,
    buckets: Vec<(i32, u64)>,
}

impl From<&NativeHistogram> for NativeState {
    fn from(h: &NativeHistogram) -> NativeState {
        NativeState {
            schema: h.schema,
            zero_count: h.zero_count,
            buckets: h.buckets().collect(),
        }
    }
}

impl NativeState {
    /// Back into a histogram when it counts `count` jobs like its classic
    /// twin and is well formed; `None` otherwise.
    fn restore(self, count: u64) -> Option<NativeHistogram> {
        let native = NativeHistogram::from_parts(self.schema, self.zero_count, &self.buckets)?;
        (native.count() == count).then_some(native)
    }
}

#[derive(Serialize, Deserialize)]
struct HistogramState {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl<const B: usize> From<&Histogram<B>> for HistogramState {
    fn from(h: &Histogram<B>) -> HistogramState {
        HistogramState {
            buckets: h.buckets.to_vec(),
            sum: h.sum,
            count: h.count,
        }
    }
}

impl HistogramState {
    /// Back into a histogram of `B` buckets; `None` when the bucket count
    /// differs (the bounds changed between versions: start from zero).
    fn restore<const B: usize>(&self) -> Option<Histogram<B>> {
        Some(Histogram {
            buckets: self.buckets.as_slice().try_into().ok()?,
            sum: self.sum,
            count: self.count,
        })
    }
}

impl RecipeState {
    fn of(jobs: &RecipeJobs) -> RecipeState {
        RecipeState {
            watermark: jobs.watermark.clone(),
            pending: jobs.pending.clone(),
            next_ordinal: jobs.next_ordinal,
            seen: jobs.seen,
            baseline: jobs.baseline.filter(|_| !jobs.calibrated),
            first_read: jobs.first_read.clone().filter(|_| jobs.calibrated),
            observed: jobs.calibrated.then(|| Observed {
                succeeded: (&jobs.durations[0]).into(),
                failed: (&jobs.durations[1]).into(),
                native: Some([(&jobs.detail[0].native).into(), (&jobs.detail[1].native).into()]),
                errors: jobs
                    .errors
                    .iter()
                    .map(|((adapter, error_type), n)| (adapter.to_string(), error_type.to_string(), *n))
                    .collect(),
            }),
        }
    }

    fn restore(self) -> RecipeJobs {
        let calibrated = self.baseline.is_none();
        let mut jobs = RecipeJobs {
            calibrated,
            baseline: self.baseline,
            first_read: self.first_read.filter(|_| calibrated),
            watermark: self.watermark,
            pending: self.pending,
            next_ordinal: self.next_ordinal,
            seen: self.seen,
            ..RecipeJobs::default()
        };
        if let Some(observed) = self.observed {
            if let (Some(succeeded), Some(failed)) = (observed.succeeded.restore(), observed.failed.restore()) {
                jobs.durations = [succeeded, failed];
            }
            let mut native = observed.native.map(|[s, f]| [Some(s), Some(f)]).unwrap_or_default();
            for (status, saved) in native.iter_mut().enumerate() {
                let classic = &jobs.durations[status];
                std::sync::Arc::make_mut(&mut jobs.detail[status]).native = saved
                    .take()
                    .and_then(|n| n.restore(classic.count))
                    .unwrap_or_else(|| NativeHistogram::from_classic(&DURATION_BUCKETS, classic));
            }
            jobs.errors = observed
                .errors
                .into_iter()
                .map(|(adapter, error_type, n)| ((adapter.into(), error_type.into()), n))
                .collect();
        }
        jobs
    }
}

/// One line of the journal: a recipe's whole state after a change, and the
/// workspace's delays histogram at that moment.
#[derive(Serialize, Deserialize)]
struct JournalLine {
    recipe_id: u64,
    state: RecipeState,
    delays: HistogramState,
}

/// What the files held.
#[derive(Default)]
pub struct Loaded {
    pub recipes: BTreeMap<u64, RecipeJobs>,
    pub delays: Delays,
}

fn journal_path(path: &Path) -> PathBuf {
    let mut journal = path.as_os_str().to_owned();
    journal.push(".journal");
    PathBuf::from(journal)
}

/// Reads the state file and replays its journal; any problem is logged and
/// gives an empty state.
pub fn load(path: &Path) -> Loaded {
    let mut loaded = match read_state(path) {
        Some(file) => {
            tracing::info!(path = %path.display(), recipes = file.recipes.len(), "resuming job ingestion from the state file");
            Loaded {
                recipes: file.recipes.into_iter().map(|(id, r)| (id, r.restore())).collect(),
                delays: file.delays.and_then(|d| d.restore()).unwrap_or_default(),
            }
        }
        None => Loaded::default(),
    };
    replay(&journal_path(path), &mut loaded);
    loaded
}

fn read_state(path: &Path) -> Option<StateFile> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(path = %path.display(), "no jobs state file yet; starting fresh");
            return None;
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read the jobs state file; starting fresh");
            return None;
        }
    };
    let file: StateFile = match serde_json::from_slice(&text) {
        Ok(file) => file,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the jobs state file is corrupt; starting fresh");
            return None;
        }
    };
    if file.version != VERSION {
        tracing::warn!(path = %path.display(), version = file.version, "unknown jobs state file version; starting fresh");
        return None;
    }
    Some(file)
}

/// Applies the journal's lines in order; the last line of a recipe wins.
fn replay(path: &Path, loaded: &mut Loaded) {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read the jobs journal; resuming from the state file alone");
            return;
        }
    };
    let mut replayed = 0usize;
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                tracing::warn!(path = %path.display(), line = number + 1, %error, "the jobs journal ends early");
                break;
            }
        };
        match serde_json::from_str::<JournalLine>(&line) {
            Ok(entry) => {
                loaded.recipes.insert(entry.recipe_id, entry.state.restore());
                if let Some(delays) = entry.delays.restore() {
                    loaded.delays = delays;
                }
                replayed += 1;
            }
            // A kill in the middle of a write leaves a partial last line.
            Err(error) => {
                tracing::warn!(path = %path.display(), line = number + 1, %error, "skipping a damaged line of the jobs journal")
            }
        }
    }
    if replayed > 0 {
        tracing::info!(path = %path.display(), changes = replayed, "replayed the jobs journal");
    }
}

/// Whether a recipe's state goes to disk: once read, or baselined.
fn is_kept(jobs: &RecipeJobs) -> bool {
    jobs.calibrated || jobs.baseline.is_some()
}

/// The state file and its journal, open for appending.
pub struct Store {
    path: PathBuf,
    journal: Option<File>,
    /// The size of the state last written, to size the next one's buffer.
    written: usize,
}

impl Store {
    pub fn new(path: &Path) -> Store {
        Store {
            path: path.to_path_buf(),
            journal: None,
            written: 0,
        }
    }

    /// Appends one recipe's state after a change; the whole line goes in one
    /// write, so a kill leaves it whole or (rarely) cut, never interleaved.
    pub fn append(&mut self, recipe_id: u64, jobs: &RecipeJobs, delays: &Delays) -> std::io::Result<()> {
        if !is_kept(jobs) {
            return Ok(());
        }
        let line = JournalLine {
            recipe_id,
            state: RecipeState::of(jobs),
            delays: delays.into(),
        };
        let mut bytes = serde_json::to_vec(&line)?;
        bytes.push(b'\n');
        let journal = match &mut self.journal {
            Some(journal) => journal,
            None => self.journal.insert(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(journal_path(&self.path))?,
            ),
        };
        journal.write_all(&bytes)
    }

    /// The whole state as the file holds it, in one buffer. The tracker
    /// encodes it under its lock and writes it after: a copy of the state to
    /// write from was tens of thousands of small allocations each cycle
    /// (9 MB at 5,000 recipes), made and freed among the ones that stay.
    pub fn encode(&self, state: &BTreeMap<u64, RecipeJobs>, delays: &Delays) -> std::io::Result<Vec<u8>> {
        let file = StateFile {
            version: VERSION,
            recipes: Recipes(state),
            delays: Some(delays.into()),
        };
        let mut encoded = Vec::with_capacity(self.written + self.written / 8);
        serde_json::to_writer(&mut encoded, &file)?;
        Ok(encoded)
    }

    /// Writes an encoded state (see [`Store::encode`]) atomically, then
    /// empties the journal.
    pub fn save(&mut self, encoded: &[u8]) -> std::io::Result<()> {
        write_atomically(&self.path, encoded)?;
        self.written = encoded.len();
        // Everything the journal held is in the file now.
        self.journal = None;
        File::create(journal_path(&self.path)).map(drop)
    }
}

/// The recipes of a state as they are written: each recipe's
/// [`RecipeState`] is made, written and dropped before the next, where a
/// map of them all made thousands of short-lived allocations each cycle.
struct Recipes<'a>(&'a BTreeMap<u64, RecipeJobs>);

impl Serialize for Recipes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kept = self.0.iter().filter(|(_, jobs)| is_kept(jobs));
        serializer.collect_map(kept.map(|(id, jobs)| (id, RecipeState::of(jobs))))
    }
}

fn write_atomically(path: &Path, encoded: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    {
        let mut out = File::create(&temporary)?;
        out.write_all(encoded)?;
        out.sync_all()?;
    }
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests;
