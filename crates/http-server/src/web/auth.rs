//! `basic_auth_users`: user → bcrypt hash. A bcrypt check costs tens of
//! milliseconds by design, so each outcome is remembered under an HMAC of
//! the credentials (keyed at random per process, so the cache holds no
//! password and its look-ups reveal nothing about one), and at most one
//! check runs at a time, off the async threads: a scrape every second costs
//! one bcrypt in all, and a flood of wrong passwords one core at most.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;
use ring::hmac;
use tokio::sync::Semaphore;

/// Most outcomes remembered of each kind; the cache starts again when full.
const CACHE_CAP: usize = 256;
/// The longest `Authorization: Basic` value looked at (bcrypt reads at most
/// 72 bytes of a password anyway).
const MAX_CREDENTIALS: usize = 1024;
/// How long a request waits for its turn at bcrypt before it is refused.
const PATIENCE: Duration = Duration::from_secs(5);

pub struct BasicAuth {
    users: BTreeMap<String, String>,
    key: hmac::Key,
    good: Mutex<HashSet<Vec<u8>>>,
    bad: Mutex<HashSet<Vec<u8>>>,
    turn: Semaphore,
    /// A hash to check unknown users against, so they take as long.
    decoy: OnceLock<String>,
}

impl BasicAuth {
    /// Checks every hash's form; the error names the user, never the hash.
    pub fn new(users: BTreeMap<String, String>) -> Result<BasicAuth, String> {
        for (user, hash) in &users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(format!(
                    "basic_auth_users.{user}: not a bcrypt hash (try `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                ));
            }
        }
        let rng = ring::rand::SystemRandom::new();
        let key =
            hmac::Key::generate(hmac::HMAC_SHA256, &rng).map_err(|_| "no randomness for basic auth".to_string())?;
        Ok(BasicAuth {
            users,
            key,
            good: Mutex::default(),
            bad: Mutex::default(),
            turn: Semaphore::new(1),
            decoy: OnceLock::new(),
        })
    }

    /// True when the request carries the credentials of a configured user.
    pub async fn allows(&self, headers: &HeaderMap) -> bool {
        let Some((user, password)) = credentials(headers) else {
            return false;
        };
        let mut message = Vec::with_capacity(user.len() + password.len() + 1);
        message.extend_from_slice(user.as_bytes());
        message.push(0);
        message.extend_from_slice(password.as_bytes());
        let tag = hmac::sign(&self.key, &message).as_ref().to_vec();
        if lock(&self.good).contains(&tag) {
            return true;
        }
        if lock(&self.bad).contains(&tag) {
            return false;
        }
        let Ok(Ok(_turn)) = tokio::time::timeout(PATIENCE, self.turn.acquire()).await else {
            return false;
        };
        let hash = self.users.get(&user).cloned();
        let known = hash.is_some();
        let decoy = self.decoy.get().cloned();
        let outcome = tokio::task::spawn_blocking(move || {
            let decoy = || decoy.unwrap_or_else(|| bcrypt::hash("decoy", bcrypt::DEFAULT_COST).unwrap_or_default());
            let hash = hash.unwrap_or_else(decoy);
            (bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false), hash)
        })
        .await;
        let Ok((matched, hash)) = outcome else {
            return false;
        };
        if !known {
            let _ = self.decoy.set(hash);
        }
        let allowed = matched && known;
        let cache = if allowed { &self.good } else { &self.bad };
        let mut cache = lock(cache);
        if cache.len() >= CACHE_CAP {
            cache.clear();
        }
        cache.insert(tag);
        allowed
    }
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The user and password of the first `Authorization: Basic` header.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    headers.get_all(AUTHORIZATION).iter().find_map(|value| {
        let value = value.to_str().ok()?.trim();
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > MAX_CREDENTIALS {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[tokio::test]
    async fn the_right_password_passes_and_the_outcome_is_cached() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::new(BTreeMap::from([("alice".to_string(), hash)])).unwrap();
        let basic = |text: &str| {
            headers(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(text)
            ))
        };
        assert!(auth.allows(&basic("alice:s3cret")).await);
        assert!(auth.allows(&basic("alice:s3cret")).await, "from the cache");
        assert_eq!(lock(&auth.good).len(), 1);
        assert!(!auth.allows(&basic("alice:wrong")).await);
        assert!(!auth.allows(&basic("bob:s3cret")).await);
        assert!(!auth.allows(&headers("Bearer abc")).await);
        assert!(!auth.allows(&HeaderMap::new()).await);
        assert!(!format!("{auth:?}").contains("$2"), "no hash in Debug");
    }

    #[test]
    fn a_broken_hash_names_the_user_not_the_hash() {
        let error = BasicAuth::new(BTreeMap::from([(
            "alice".to_string(),
            "plain-text-password".to_string(),
        )]))
        .err()
        .unwrap();
        assert!(error.contains("alice") && !error.contains("plain-text"), "{error}");
    }
}
