//! Which replica polls which workspace: rendezvous (highest random weight)
//! hashing of the `workspace` label over the replicas' indices.
//!
//! Each replica scores every key against every index with xxh3 seeded by
//! the index, and the highest score owns the key. Replicas need nothing but
//! `--shard.count` and their own index to agree, and a key's scores against
//! the indices that stay do not change when the count does, so going from
//! N to N+1 replicas moves only the keys the new index wins, about 1/(N+1)
//! of them. xxh3 is specified and fixed, unlike std's `DefaultHasher`, so
//! builds, Rust versions and platforms agree; a golden test pins it. This
//! module imports nothing of the crate.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// This replica's place among `count` replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// `--shard.index`, from 0 to `count - 1`.
    pub index: u32,
    /// `--shard.count`, at least 1.
    pub count: u32,
}

impl Shard {
    /// True when this replica polls the workspace labelled `key` (an
    /// Embedded customer's `partner/123` as much as `prod`).
    pub fn owns(&self, key: &str) -> bool {
        owner(key, self.count) == self.index
    }
}

/// The index, from 0 to `count - 1`, that owns `key` among `count`
/// replicas (0 when `count` is 0). The highest score wins; a tie, which
/// takes two equal 64-bit hashes, goes to the lower index.
pub fn owner(key: &str, count: u32) -> u32 {
    let mut best = (0, 0);
    for index in 0..count {
        let score = xxh3_64_with_seed(key.as_bytes(), u64::from(index));
        if index == 0 || score > best.1 {
            best = (index, score);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10,000 keys shaped like real labels, the same on every run.
    fn keys() -> Vec<String> {
        (0..10_000)
            .map(|i| {
                if i % 2 == 0 {
                    format!("ws-{i}")
                } else {
                    format!("partner/{}", 100_000 + i)
                }
            })
            .collect()
    }

    #[test]
    fn every_key_is_owned_by_exactly_one_index() {
        for count in 1..=8 {
            for key in keys().iter().take(2_000) {
                let owners = (0..count).filter(|&index| Shard { index, count }.owns(key)).count();
                assert_eq!(owners, 1, "{key} with {count} replicas");
            }
        }
    }

    #[test]
    fn one_more_replica_takes_about_its_share_and_moves_nothing_else() {
        let keys = keys();
        for count in 1..=7u32 {
            let moved: Vec<&String> = keys.iter().filter(|k| owner(k, count) != owner(k, count + 1)).collect();
            for key in &moved {
                assert_eq!(owner(key, count + 1), count, "{key} moved to an old replica");
            }
            let expected = keys.len() as f64 / f64::from(count + 1);
            let ratio = moved.len() as f64 / expected;
            assert!(
                (0.9..=1.1).contains(&ratio),
                "{count}→{}: {} moved, expected about {expected}",
                count + 1,
                moved.len()
            );
        }
    }

    #[test]
    fn replicas_share_the_keys_evenly() {
        let keys = keys();
        for count in 2..=8u32 {
            let mut owned = vec![0usize; count as usize];
            for key in &keys {
                owned[owner(key, count) as usize] += 1;
            }
            let fair = keys.len() as f64 / f64::from(count);
            for (index, &n) in owned.iter().enumerate() {
                let ratio = n as f64 / fair;
                assert!(
                    (0.9..=1.1).contains(&ratio),
                    "index {index} of {count} owns {n}, fair is {fair}"
                );
            }
        }
    }

    /// A change of hash, seed or tie rule moves workspaces between running
    /// replicas of different versions: this table must never change.
    #[test]
    fn owners_are_pinned() {
        let golden = [
            ("default", 2, 1),
            ("default", 3, 1),
            ("default", 5, 3),
            ("prod", 2, 1),
            ("prod", 3, 1),
            ("prod", 5, 1),
            ("dev", 2, 0),
            ("dev", 3, 2),
            ("dev", 5, 4),
            ("partner/123", 2, 0),
            ("partner/123", 3, 0),
            ("partner/123", 5, 3),
            ("partner/4567", 2, 1),
            ("partner/4567", 3, 1),
            ("partner/4567", 5, 3),
            ("eu:billing", 2, 1),
            ("eu:billing", 3, 1),
            ("eu:billing", 5, 4),
        ];
        for (key, count, expected) in golden {
            assert_eq!(owner(key, count), expected, "{key} among {count}");
        }
    }

    #[test]
    fn one_replica_owns_everything() {
        let shard = Shard { index: 0, count: 1 };
        assert!(keys().iter().all(|k| shard.owns(k)));
        assert!(shard.owns(""));
    }
}
