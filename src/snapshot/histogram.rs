//! The job histograms of the snapshot: classic buckets over fixed bounds
//! (job durations, ingestion delays), native (exponential) histograms of
//! job durations, and the exemplar of each duration bucket.

/// Upper bounds of `workato_job_duration_seconds`: sub-second API calls to
/// hour-long batch jobs.
pub const DURATION_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// Upper bounds of `workato_job_ingestion_delay_seconds`: from a job's
/// completion in Workato to the exporter counting it, about one poll
/// interval at most.
pub const DELAY_BUCKETS: [f64; 12] = [1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 900.0];

/// A histogram's counts over fixed bounds: `B` is the number of bounds plus
/// one for +Inf.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram<const B: usize> {
    /// Non-cumulative counts per bucket, the last one +Inf.
    pub buckets: [u64; B],
    pub sum: f64,
    pub count: u64,
}

impl<const B: usize> Default for Histogram<B> {
    fn default() -> Self {
        Histogram {
            buckets: [0; B],
            sum: 0.0,
            count: 0,
        }
    }
}

impl<const B: usize> Histogram<B> {
    /// Counts `value` in the first bucket whose bound is at least `value`.
    pub fn observe(&mut self, bounds: &[f64], value: f64) {
        let index = bounds.iter().position(|b| value <= *b).unwrap_or(B - 1);
        self.buckets[index] += 1;
        self.sum += value;
        self.count += 1;
    }
}

/// Observed durations of one recipe's jobs with one status.
pub type Durations = Histogram<{ DURATION_BUCKETS.len() + 1 }>;

/// The finest schema of the native job duration histograms: each power of
/// two split into 2^3 = 8 buckets, so a bucket's bounds differ by 9.05%
/// and a value is at most 4.4% from its bucket's middle — client_golang's
/// usual bucket factor of 1.1. Schema 4 halved that error and doubled the
/// buckets of every series, in this process and in Prometheus.
pub const NATIVE_SCHEMA: i8 = 3;

/// Durations up to this many seconds count in the native histogram's zero
/// bucket (a job Workato reports as taking no time at all).
pub const NATIVE_ZERO_THRESHOLD: f64 = 0.001;

/// The most buckets one native histogram keeps: past it the histogram
/// halves its resolution (schema minus one), as client_golang does, so a
/// series costs at most this many (index, count) pairs whatever the
/// durations Workato reports.
pub const NATIVE_MAX_BUCKETS: usize = 160;

/// A native (exponential) histogram of positive values: bucket `i` holds
/// the values in (2^((i-1)/2^schema), 2^(i/2^schema)].
#[derive(Debug, Clone, PartialEq)]
pub struct NativeHistogram {
    pub schema: i8,
    /// Values at most [`NATIVE_ZERO_THRESHOLD`].
    pub zero_count: u64,
    /// Sorted by index, no zero counts.
    buckets: Vec<Packed>,
}

/// One native bucket in eight bytes, where an (index, count) pair takes
/// sixteen: thousands of series hold up to [`NATIVE_MAX_BUCKETS`] each,
/// and every job that changes one copies its histogram once (it is shared
/// with the published stats). The index, offset by 2^15, is in the high 16
/// bits — so packed buckets sort by index — and the count in the low 48: a
/// bucket saturates at 2.8·10^14 jobs, centuries of a thousand jobs a
/// second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Packed(u64);

const COUNT_BITS: u32 = 48;
/// The most jobs one native bucket counts.
pub const NATIVE_BUCKET_MAX_COUNT: u64 = (1 << COUNT_BITS) - 1;
/// Bucket indices that fit the packing: at the finest schema kept (3), f64's
/// exponent range is within ±8,600.
const INDEX_RANGE: std::ops::RangeInclusive<i32> = (i16::MIN as i32)..=(i16::MAX as i32);

impl Packed {
    /// `None` when the index or the count does not fit.
    fn new(index: i32, count: u64) -> Option<Packed> {
        let fits = INDEX_RANGE.contains(&index) && count <= NATIVE_BUCKET_MAX_COUNT;
        let biased = (index - i32::from(i16::MIN)) as u64;
        fits.then_some(Packed(biased << COUNT_BITS | count))
    }

    fn index(self) -> i32 {
        (self.0 >> COUNT_BITS) as i32 + i32::from(i16::MIN)
    }

    fn count(self) -> u64 {
        self.0 & NATIVE_BUCKET_MAX_COUNT
    }

    fn add(&mut self, count: u64) {
        let sum = self.count().saturating_add(count).min(NATIVE_BUCKET_MAX_COUNT);
        self.0 = self.0 & !NATIVE_BUCKET_MAX_COUNT | sum;
    }
}

impl Default for NativeHistogram {
    fn default() -> Self {
        NativeHistogram {
            schema: NATIVE_SCHEMA,
            zero_count: 0,
            buckets: Vec::new(),
        }
    }
}

impl NativeHistogram {
    /// A histogram from its parts (a state file's): `None` unless the
    /// schema is one Prometheus knows (-4 to 8), the buckets are sorted by
    /// index, at most [`NATIVE_MAX_BUCKETS`], and each index and count
    /// fits. Parts finer than [`NATIVE_SCHEMA`] (a state file of a version
    /// that kept schema 4) are made coarser to it.
    pub fn from_parts(schema: i8, zero_count: u64, buckets: &[(i32, u64)]) -> Option<NativeHistogram> {
        let sorted = buckets.windows(2).all(|w| w[0].0 < w[1].0);
        if !(-4..=8).contains(&schema) || !sorted || buckets.len() > NATIVE_MAX_BUCKETS {
            return None;
        }
        let mut pairs: Vec<(i32, u64)> = buckets.iter().copied().filter(|(_, count)| *count > 0).collect();
        let mut schema = schema;
        while schema > NATIVE_SCHEMA {
            pairs = coarser(pairs);
            schema -= 1;
        }
        let buckets = (pairs.into_iter())
            .map(|(index, count)| Packed::new(index, count))
            .collect::<Option<Vec<Packed>>>()?;
        Some(NativeHistogram {
            schema,
            zero_count,
            buckets,
        })
    }

    /// Its buckets as (index, count), by index.
    pub fn buckets(&self) -> impl ExactSizeIterator<Item = (i32, u64)> + '_ {
        self.buckets.iter().map(|b| (b.index(), b.count()))
    }

    /// Counts `value` (NaN and values up to the zero threshold in the zero
    /// bucket).
    pub fn observe(&mut self, value: f64) {
        if value.is_nan() || value <= NATIVE_ZERO_THRESHOLD {
            self.zero_count += 1;
            return;
        }
        self.add(value, 1);
    }

    fn add(&mut self, value: f64, count: u64) {
        let index = bucket_index(value, self.schema);
        match self.buckets.binary_search_by_key(&index, |b| b.index()) {
            Ok(at) => self.buckets[at].add(count),
            Err(at) => {
                // Always fits: `bucket_index` clamps into the packing's range.
                let Some(bucket) = Packed::new(index, count.min(NATIVE_BUCKET_MAX_COUNT)) else {
                    return;
                };
                // One more bucket is rare beside the counts that land in
                // old ones: room for exactly one, as the doubling growth of
                // a Vec would leave thousands of series a third empty.
                self.buckets.reserve_exact(1);
                self.buckets.insert(at, bucket);
                while self.buckets.len() > NATIVE_MAX_BUCKETS && self.schema > -4 {
                    self.halve();
                }
            }
        }
    }

    /// One schema coarser.
    fn halve(&mut self) {
        self.schema -= 1;
        let pairs = coarser(self.buckets().collect());
        // Half an index in range is in range.
        self.buckets = pairs.into_iter().filter_map(|(i, c)| Packed::new(i, c)).collect();
    }

    /// Observations counted: the zero bucket and every other.
    pub fn count(&self) -> u64 {
        self.zero_count + self.buckets().map(|(_, c)| c).sum::<u64>()
    }

    /// A native histogram holding the counts of a classic one, each at its
    /// bucket's upper bound (the +Inf bucket at the last bound): for job
    /// counters restored from a state file written before native
    /// histograms, so both views count the same jobs.
    pub fn from_classic(bounds: &[f64], classic: &Durations) -> NativeHistogram {
        let mut native = NativeHistogram::default();
        for (i, count) in classic.buckets.iter().enumerate().filter(|(_, c)| **c > 0) {
            let bound = bounds.get(i).or(bounds.last()).copied().unwrap_or(1.0);
            native.add(bound.max(NATIVE_ZERO_THRESHOLD * 2.0), *count);
        }
        native
    }
}

/// Buckets one schema coarser: 2j-1 and 2j become bucket j (their
/// counts added, saturating at what a bucket holds).
fn coarser(buckets: Vec<(i32, u64)>) -> Vec<(i32, u64)> {
    let mut merged: Vec<(i32, u64)> = Vec::with_capacity(buckets.len() / 2 + 1);
    for (index, count) in buckets {
        let index = (index + 1).div_euclid(2);
        match merged.last_mut() {
            Some((last, total)) if *last == index => *total = total.saturating_add(count).min(NATIVE_BUCKET_MAX_COUNT),
            _ => merged.push((index, count)),
        }
    }
    merged
}

/// The native bucket of `value` (> 0) at `schema`: the smallest `i` with
/// `value <= 2^(i / 2^schema)`. Values beyond f64's exponent range land in
/// the last bucket Prometheus accepts.
fn bucket_index(value: f64, schema: i8) -> i32 {
    let scaled = value.log2() * 2f64.powi(i32::from(schema));
    // Within f64's range |log2| <= 1075: at the schemas kept this is
    // within the packing's range, the clamp is for infinities.
    scaled.ceil().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i32
}

/// The job behind a bucket of `workato_job_duration_seconds`: the most
/// recent one that fell in it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobExemplar {
    /// Shared, not owned: each job that changes a histogram copies its
    /// exemplars (the histogram is shared with the published stats), and a
    /// shared id is copied without an allocation.
    pub job_id: std::sync::Arc<str>,
    /// Its duration in seconds.
    pub value: f64,
    /// When it completed, Unix seconds.
    pub completed_at: f64,
}

/// The longest job id kept for an exemplar: OpenMetrics allows 128
/// characters for an exemplar's label names and values together, and
/// `job_id`, `recipe_id` and a recipe id take at most 35.
pub const MAX_EXEMPLAR_JOB_ID: usize = 90;

/// What one recipe's job durations with one status carry beside the
/// classic buckets: an exemplar per bucket and the native histogram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DurationDetail {
    /// By classic bucket (the last is +Inf).
    pub exemplars: [Option<JobExemplar>; DURATION_BUCKETS.len() + 1],
    pub native: NativeHistogram,
}

impl DurationDetail {
    /// Counts a job of `seconds` that completed at `completed_at`.
    pub fn observe(&mut self, job_id: &str, seconds: f64, completed_at: Option<f64>) {
        self.native.observe(seconds);
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(DURATION_BUCKETS.len());
        let printable = job_id.len() <= MAX_EXEMPLAR_JOB_ID && !job_id.is_empty();
        if let (Some(completed_at), true) = (completed_at, printable) {
            self.exemplars[bucket] = Some(JobExemplar {
                job_id: job_id.into(),
                value: seconds,
                completed_at,
            });
        }
    }
}

/// Observed delays from completion to ingestion, workspace-wide.
pub type Delays = Histogram<{ DELAY_BUCKETS.len() + 1 }>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_buckets_follow_the_schema_and_count_every_value() {
        let mut h = NativeHistogram::default();
        // 1 is a bucket's upper bound at every schema; 2^(1/8) = 1.09 the next.
        for v in [1.0, 1.04, 1.01, 0.0, 0.0005, 3600.0] {
            h.observe(v);
        }
        assert_eq!(h.zero_count, 2);
        assert_eq!(
            h.buckets().collect::<Vec<_>>(),
            [(0, 1), (1, 2), (95, 1)],
            "log2(3600) * 8 = 94.5"
        );
        assert_eq!(h.count(), 6);
        assert_eq!(
            h.buckets.capacity(),
            h.buckets.len(),
            "no room held for buckets that may never come"
        );
    }

    #[test]
    fn a_packed_bucket_keeps_any_index_and_count_it_accepts() {
        for (index, count) in [
            (i32::from(i16::MIN), 1),
            (-1, 7),
            (0, 1),
            (i32::from(i16::MAX), NATIVE_BUCKET_MAX_COUNT),
        ] {
            let packed = Packed::new(index, count).expect("fits");
            assert_eq!((packed.index(), packed.count()), (index, count));
        }
        assert!(Packed::new(-1, 1) < Packed::new(0, 1), "packed buckets sort by index");
        assert_eq!(Packed::new(i32::from(i16::MAX) + 1, 1), None);
        assert_eq!(Packed::new(0, NATIVE_BUCKET_MAX_COUNT + 1), None);
        let mut full = Packed::new(-3, NATIVE_BUCKET_MAX_COUNT - 1).expect("fits");
        full.add(5);
        assert_eq!(
            (full.index(), full.count()),
            (-3, NATIVE_BUCKET_MAX_COUNT),
            "a full bucket saturates in place"
        );
    }

    #[test]
    fn parts_a_histogram_cannot_hold_are_refused_and_finer_ones_made_coarser() {
        let h = NativeHistogram::from_parts(3, 2, &[(-5, 1), (7, 4)]).expect("well formed");
        assert_eq!((h.schema, h.count()), (3, 7));
        assert_eq!(h.buckets().collect::<Vec<_>>(), [(-5, 1), (7, 4)]);
        let finer = NativeHistogram::from_parts(4, 0, &[(1, 1), (2, 2), (3, 4)]).expect("schema 4, as kept before");
        assert_eq!(finer.schema, NATIVE_SCHEMA);
        assert_eq!(
            finer.buckets().collect::<Vec<_>>(),
            [(1, 3), (2, 4)],
            "1 and 2 become 1, 3 becomes 2"
        );
        let refused = [
            (9, vec![(1, 1)]),
            (4, vec![(7, 1), (5, 1)]),
            (3, vec![(40_000, 1)]),
            (4, vec![(1, NATIVE_BUCKET_MAX_COUNT + 1)]),
            (4, (0..=NATIVE_MAX_BUCKETS as i32).map(|i| (i, 1)).collect()),
        ];
        for (schema, buckets) in refused {
            assert_eq!(
                NativeHistogram::from_parts(schema, 0, &buckets),
                None,
                "{schema} {buckets:?}"
            );
        }
    }

    #[test]
    fn a_native_histogram_halves_its_resolution_past_its_bucket_cap() {
        let mut h = NativeHistogram::default();
        let mut v = 1e-2;
        for _ in 0..1_000 {
            h.observe(v);
            v *= 1.02;
        }
        assert!(h.buckets().len() <= NATIVE_MAX_BUCKETS, "{}", h.buckets().len());
        assert!(h.schema < NATIVE_SCHEMA);
        assert_eq!(h.count(), 1_000);
        let buckets: Vec<(i32, u64)> = h.buckets().collect();
        assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0));
        // Hostile values cost one bucket each, and never panic.
        for v in [f64::MAX, f64::MIN_POSITIVE, f64::INFINITY, f64::NAN, -5.0] {
            h.observe(v);
        }
        assert_eq!(h.count(), 1_005);
    }
}
