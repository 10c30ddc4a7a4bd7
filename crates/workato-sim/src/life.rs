//! How the simulated workspace lives: one tick per simulated second starts
//! jobs (Poisson arrivals on a slow activity wave, log-normal durations),
//! completes them into Workato's lifetime counters, and plays the scripted
//! incidents ([`script`]). Everything draws from the world's seeded
//! generator in tick order, so a seed gives the same history however often
//! it is observed.

use std::f64::consts::TAU;

use crate::world::{JobError, Pending, SimJob, World};

/// The incidents repeat with this period, in simulated seconds: two hours,
/// twelve minutes at `--demo.speed 10`. Prometheus counts an alert's `for`
/// in real minutes, so each incident lasts long enough at that speed for
/// its alert to fire; the last 50 minutes are calm, and every alert resolves.
pub const INCIDENT_CYCLE: u64 = 7_200;

/// When, within a cycle, each incident starts and ends (simulated seconds;
/// divide by ten for real seconds at `--demo.speed 10`).
pub mod script {
    /// The storm recipe's failure rate climbs from 0 to 100% over this long.
    pub const STORM_RAMP: u64 = 100;
    /// Failed jobs in a row after which Workato stops a recipe.
    pub const TRIGGER_ERRORS_LIMIT: u32 = 8;
    /// The storm recipe, stopped by Workato within the ramp, starts again:
    /// stopped for 170 s at speed 10 (`WorkatoRecipeStoppedByWorkato`, `for: 1m`).
    pub const STORM_RESTART: u64 = 1_800;
    /// 298 s at speed 10 (`WorkatoApiEndpointDisabledWhileRecipeRuns`, `for: 3m`).
    pub const ENDPOINT_DISABLED: (u64, u64) = (20, 3_000);
    /// 416 s at speed 10: `WorkatoConnectionBroken` (`for: 3m`), and the
    /// failure alerts, whose 5-minute ratio first has to pass a half
    /// (`WorkatoRecipeJobsFailing`, `WorkatoManyRecipesFailing`, `for: 2m`).
    pub const CONNECTION_LOST: (u64, u64) = (40, 4_200);
    /// 234 s at speed 10 (`WorkatoRecipeStoppedByWorkato`, `for: 1m`).
    pub const QUOTA_STOPPED: (u64, u64) = (60, 2_400);
}

const ERRORS: [(&str, &str); 5] = [
    ("Timeout", "Request timed out after 60 seconds"),
    ("Rate limit exceeded", "429 Too Many Requests: retry later"),
    ("Bad request", "Field 'email' is not a valid email address"),
    ("Record not found", "No record matches the lookup criteria"),
    ("Server error", "500 Internal Server Error"),
];

impl World {
    /// Plays simulated seconds until `elapsed` of them have passed.
    pub fn advance_to(&mut self, elapsed: u64) {
        while self.elapsed < elapsed {
            self.elapsed += 1;
            self.tick();
        }
    }

    fn tick(&mut self) {
        let now = self.now();
        if self.incidents {
            self.play_script(now);
        }
        let lost = self.lost_connection_ids();
        let storm = self.cast.map(|c| c.storm_recipe);
        let phase = self.elapsed % INCIDENT_CYCLE;
        for index in 0..self.recipes.len() {
            // Completions after arrivals: a job that starts and ends within
            // this second is in the counters as soon as the jobs list shows
            // it completed.
            if self.recipes[index].running {
                self.arrivals(index, now, phase, storm, &lost);
            }
            self.complete_jobs(index, now);
        }
    }

    /// Starts this second's jobs of a running recipe: Poisson arrivals on
    /// a slow wave, failing more during the storm or while a connection the
    /// recipe uses is lost.
    fn arrivals(&mut self, index: usize, now: f64, phase: u64, storm: Option<usize>, lost: &[u64]) {
        let recipe = &self.recipes[index];
        let wave = 1.0 + 0.6 * (TAU * (self.elapsed as f64 / 1200.0 + (recipe.id % 17) as f64 / 17.0)).sin();
        let arrivals = poisson(&mut self.rng, recipe.jobs_per_minute / 60.0 * wave);
        let failure_rate = if self.incidents && storm == Some(index) && phase < script::STORM_RESTART {
            let ramp = (phase as f64 / script::STORM_RAMP as f64).min(1.0);
            recipe.failure_rate + (1.0 - recipe.failure_rate) * ramp
        } else {
            recipe.failure_rate
        };
        let broken_connection = recipe
            .config
            .iter()
            .find(|(_, id)| id.is_some_and(|id| lost.contains(&id)))
            .map(|(app, _)| app.clone());
        for _ in 0..arrivals {
            self.start_job(index, now, failure_rate, broken_connection.clone());
        }
    }

    fn start_job(&mut self, index: usize, now: f64, failure_rate: f64, broken_connection: Option<String>) {
        let rng = &mut self.rng;
        let recipe = &mut self.recipes[index];
        let started_at = now - 1.0 + rng.f64();
        // Log-normal around the recipe's median: mostly close to it, a long
        // tail up to an hour.
        let z = (-2.0 * (1.0 - rng.f64()).ln()).sqrt() * (TAU * rng.f64()).cos();
        let duration = (recipe.median_duration * (0.9 * z).exp()).clamp(0.05, 3_600.0);
        let error = match broken_connection {
            Some(adapter) => Some(JobError {
                adapter,
                error_type: "Authentication error",
                message: "Invalid credentials: the refresh token has expired".to_string(),
            }),
            None if rng.f64() < failure_rate => {
                // A recipe fails where its action fails, and always the same
                // way: each recipe has one error of its own.
                let (error_type, message) = ERRORS[(recipe.id % ERRORS.len() as u64) as usize];
                let adapter = recipe.action_applications.first().cloned().unwrap_or_default();
                Some(JobError {
                    adapter,
                    error_type,
                    message: message.to_string(),
                })
            }
            None => None,
        };
        let seq = self.next_job_seq;
        self.next_job_seq += 1;
        let suffix: String = (0..8).map(|_| rng.alphanumeric()).collect();
        let job = SimJob {
            seq,
            id: format!("j-{}-{suffix}", to_base36(seq)),
            started_at,
            completed_at: started_at + duration,
            error,
        };
        recipe.pending.push((
            seq,
            Pending {
                completed_at: job.completed_at,
                failed: job.error.is_some(),
            },
        ));
        recipe.last_job_started_at = Some(started_at);
        recipe.jobs.push_back(job);
        let oldest = self.job_max_age.map_or(f64::NEG_INFINITY, |age| now - age);
        while recipe.jobs.len() > self.job_retention || recipe.jobs.front().is_some_and(|j| j.started_at < oldest) {
            recipe.jobs.pop_front();
        }
    }

    fn complete_jobs(&mut self, index: usize, now: f64) {
        let recipe = &mut self.recipes[index];
        let mut done: Vec<Pending> = Vec::new();
        recipe.pending.retain(|(_, p)| {
            let finished = p.completed_at <= now;
            if finished {
                done.push(*p);
            }
            !finished
        });
        done.sort_by(|a, b| a.completed_at.total_cmp(&b.completed_at));
        for job in done {
            let tasks = 2 + recipe.id % 5;
            recipe.last_run_at = Some(job.completed_at);
            recipe.tasks += tasks;
            if let Some(log) = &mut self.usage {
                log.record(job.completed_at, job.failed, tasks);
            }
            if job.failed {
                recipe.failed += 1;
                recipe.consecutive_failures += 1;
            } else {
                recipe.succeeded += 1;
                recipe.consecutive_failures = 0;
            }
        }
        // Workato's trigger error limit plays only during the storm, so the
        // failed stragglers that complete after the restart do not stop the
        // recipe again.
        let storm = self.incidents
            && self.cast.is_some_and(|c| c.storm_recipe == index)
            && self.elapsed % INCIDENT_CYCLE < script::STORM_RESTART;
        if storm && recipe.running && recipe.consecutive_failures >= script::TRIGGER_ERRORS_LIMIT {
            recipe.running = false;
            recipe.stop_cause = Some("trigger_errors_limit");
            recipe.stopped_at = Some(now);
        }
    }

    fn play_script(&mut self, now: f64) {
        let Some(cast) = self.cast else { return };
        let phase = self.elapsed % INCIDENT_CYCLE;
        let storm = &mut self.recipes[cast.storm_recipe];
        if phase == script::STORM_RESTART && storm.stop_cause == Some("trigger_errors_limit") {
            storm.running = true;
            storm.stop_cause = None;
            storm.consecutive_failures = 0;
        }
        if phase == 0 {
            storm.consecutive_failures = 0;
        }

        let quota = &mut self.recipes[cast.quota_recipe];
        if phase == script::QUOTA_STOPPED.0 && quota.running {
            quota.running = false;
            quota.stop_cause = Some("txn_quota_limit");
            quota.stopped_at = Some(now);
        } else if phase == script::QUOTA_STOPPED.1 && quota.stop_cause == Some("txn_quota_limit") {
            quota.running = true;
            quota.stop_cause = None;
        }

        let connection = &mut self.connections[cast.lost_connection];
        if phase == script::CONNECTION_LOST.0 {
            connection.authorization_status = Some("failed");
            connection.authorization_error = Some("Invalid credentials: the refresh token has expired".to_string());
            connection.lost_at = Some(now);
        } else if phase == script::CONNECTION_LOST.1 {
            connection.authorization_status = Some("success");
            connection.authorization_error = None;
            connection.authorized_at = Some(now);
            connection.lost_at = None;
        }

        let endpoint = &mut self.endpoints[cast.disabled_endpoint];
        if phase == script::ENDPOINT_DISABLED.0 {
            endpoint.active = false;
        } else if phase == script::ENDPOINT_DISABLED.1 {
            endpoint.active = true;
        }
    }
}

/// Poisson-distributed count with mean `lambda` (Knuth; small means only).
fn poisson(rng: &mut fastrand::Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let limit = (-lambda).exp();
    let mut product = rng.f64();
    let mut count = 0;
    while product > limit && count < 1_000 {
        count += 1;
        product *= rng.f64();
    }
    count
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The sequence number inside a simulated job id (`j-<base36>-<suffix>`).
pub fn job_seq(id: &str) -> Option<u64> {
    let digits = id.strip_prefix("j-")?.split('-').next()?;
    u64::from_str_radix(digits, 36).ok()
}

#[cfg(test)]
mod tests;
