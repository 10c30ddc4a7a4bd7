//! Workato's lifetime counters (jobs succeeded and failed, tasks) as
//! Prometheus counters: they never go back, whoever reads them — the
//! recipes sweep or the admin route re-reading one recipe.

use crate::snapshot::Recipe;

/// Workato's lifetime counters never go back in Prometheus: where one reads
/// lower than before (a glitch, a restored recipe), the previous value is
/// kept and the anomaly logged. Returns how many counters were held.
pub(crate) fn hold(before: &[Recipe], now: &mut [Recipe]) -> u64 {
    let before: std::collections::HashMap<u64, &Recipe> = before.iter().map(|r| (r.id, r)).collect();
    let mut held = 0;
    for recipe in now.iter_mut() {
        let Some(old) = before.get(&recipe.id) else { continue };
        for (name, new, old) in [
            ("job_succeeded_count", &mut recipe.jobs_succeeded, old.jobs_succeeded),
            ("job_failed_count", &mut recipe.jobs_failed, old.jobs_failed),
            ("lifetime_task_count", &mut recipe.tasks, old.tasks),
        ] {
            if let (Some(value), Some(previous)) = (*new, old)
                && value < previous
            {
                tracing::warn!(
                    recipe_id = recipe.id,
                    counter = name,
                    previous,
                    value,
                    "Workato's lifetime counter went back; keeping the previous value"
                );
                *new = Some(previous);
                held += 1;
            }
        }
    }
    held
}
