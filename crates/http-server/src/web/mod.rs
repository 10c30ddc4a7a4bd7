//! The Prometheus exporter toolkit's web configuration (`--web.config.file`):
//! TLS and mutual TLS, basic auth and extra response headers, for every
//! listener that serves with it.
//!
//! `file` is the YAML as written; `tls` builds the rustls configuration and
//! `verify` the client certificate checks it needs; `auth` checks basic
//! auth. [`Web`] holds the configuration in force and re-reads the file
//! (and the certificate files it names) when they change: a new
//! certificate is served to the next connection, a broken file keeps the
//! last good configuration, is logged once and counted.

mod auth;
mod file;
mod tls;
mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};
use tokio_util::sync::CancellationToken;

pub use self::auth::BasicAuth;
pub use self::tls::CLIENT_AUTH_TYPES;
pub use self::verify::sans;
use crate::body::{Body, json_message};

/// How often [`Web::watch`] looks at the files (a new connection looks too).
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// The headers the toolkit lets a file add, with the values it accepts
/// (none listed: any).
const HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// One good reading of the file: what the listeners apply.
pub struct Settings {
    /// `None`: clear-text HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The server's certificate chain and key, with `tls`.
    pub certified: Option<Arc<rustls::sign::CertifiedKey>>,
    pub auth: Option<BasicAuth>,
    pub headers: HeaderMap,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Settings {
    /// Parses `text` (the file at `path`); relative paths in it are read
    /// from the file's folder. Also returns the files it read.
    pub fn parse(text: &str, path: &Path) -> Result<(Settings, Vec<PathBuf>), String> {
        let file = file::parse(text)?;
        if file.rate_limit.is_some() {
            return Err("rate_limit is not supported by this exporter; remove it".into());
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let (tls, certified, files) = match &file.tls_server_config {
            Some(tls) => {
                let (config, certified, files) = tls::build(tls, dir)?;
                (Some(config), Some(certified), files)
            }
            None => (None, None, Vec::new()),
        };
        let auth = match file.basic_auth_users {
            Some(users) if !users.is_empty() => Some(BasicAuth::new(users)?),
            _ => None,
        };
        let mut headers = HeaderMap::new();
        let http = file.http_server_config.unwrap_or_default();
        // `http2`: connections speak HTTP/1.1 (ALPN offers only that), which
        // is what `http2: false` asks and what `true` falls back to.
        let _ = http.http2;
        for (name, value) in http.headers.unwrap_or_default() {
            let Some((known, allowed)) = HEADERS.iter().find(|(known, _)| *known == name) else {
                return Err(format!("http_server_config.headers: {name:?} can not be configured"));
            };
            if value.is_empty() {
                continue;
            }
            if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
                return Err(format!(
                    "http_server_config.headers.{known}: expected one of {}, got {value:?}",
                    allowed.join(", ")
                ));
            }
            let value = HeaderValue::from_str(&value)
                .map_err(|_| format!("http_server_config.headers.{known}: not a valid header value"))?;
            headers.insert(HeaderName::from_static(lowercase(known)), value);
        }
        let settings = Settings {
            tls,
            certified,
            auth,
            headers,
        };
        Ok((settings, files))
    }

    /// `Some(401)` when basic auth is on and the request lacks valid
    /// credentials.
    pub async fn refuse(&self, headers: &HeaderMap) -> Option<Response<Body>> {
        let auth = self.auth.as_ref()?;
        if auth.allows(headers).await {
            return None;
        }
        let mut response = json_message(StatusCode::UNAUTHORIZED, "Unauthorized");
        response
            .headers_mut()
            .insert(hyper::header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        Some(response)
    }

    /// Adds the configured headers to a response.
    pub fn decorate(&self, response: &mut Response<Body>) {
        for (name, value) in &self.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
}

fn lowercase(name: &'static str) -> &'static str {
    match name {
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "content-security-policy",
    }
}

/// What identifies a file's version without reading it.
type Stamp = Option<(u64, SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), meta.modified().ok()?, inode))
}

/// What the watcher last saw.
struct Seen {
    files: Vec<PathBuf>,
    stamps: Vec<Stamp>,
    /// The text of the file and of each file it names, last read.
    contents: Vec<Vec<u8>>,
}

/// The configuration in force for every listener, and the file it comes from.
pub struct Web {
    path: PathBuf,
    current: RwLock<Arc<Settings>>,
    seen: Mutex<Seen>,
    failures: AtomicU64,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web").field("path", &self.path).finish_non_exhaustive()
    }
}

fn read_all(path: &Path, files: &[PathBuf]) -> (Vec<Stamp>, Vec<Vec<u8>>) {
    std::iter::once(path)
        .chain(files.iter().map(PathBuf::as_path))
        .map(|p| (stamp(p), std::fs::read(p).unwrap_or_default()))
        .unzip()
}

impl Web {
    /// Reads the file; the error is one line naming the field at fault.
    pub fn load(path: &Path) -> Result<Web, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let (settings, files) = Settings::parse(&text, path)?;
        let (stamps, contents) = read_all(path, &files);
        Ok(Web {
            path: path.to_path_buf(),
            current: RwLock::new(Arc::new(settings)),
            seen: Mutex::new(Seen {
                files,
                stamps,
                contents,
            }),
            failures: AtomicU64::new(0),
        })
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<Settings> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Reloads that failed since the start: one for each broken version
    /// of the files.
    pub fn reload_failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Looks at the files' sizes, times and inodes; when one moved and the
    /// contents differ, reads the configuration again. A broken one is
    /// logged and counted once; the last good one stays in force. TLS
    /// cannot be turned on or off without a restart.
    pub fn refresh(&self) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let stamps: Vec<Stamp> = std::iter::once(self.path.as_path())
            .chain(seen.files.iter().map(PathBuf::as_path))
            .map(stamp)
            .collect();
        if stamps == seen.stamps {
            return;
        }
        let (stamps, contents) = read_all(&self.path, &seen.files);
        seen.stamps = stamps;
        if contents == seen.contents {
            return;
        }
        seen.contents = contents;
        let text = String::from_utf8_lossy(&seen.contents[0]).into_owned();
        let outcome = Settings::parse(&text, &self.path).and_then(|(settings, files)| {
            if settings.tls.is_some() != self.current().tls.is_some() {
                return Err("tls_server_config: turning TLS on or off needs a restart".to_string());
            }
            Ok((settings, files))
        });
        match outcome {
            Ok((settings, files)) => {
                if files != seen.files {
                    let (stamps, contents) = read_all(&self.path, &files);
                    *seen = Seen {
                        files,
                        stamps,
                        contents,
                    };
                }
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
                tracing::info!(target: "workato_exporter::http", file = %self.path.display(), "web configuration reloaded");
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    target: "workato_exporter::http",
                    file = %self.path.display(),
                    %error,
                    "web configuration not reloaded; the last good one stays in force"
                );
            }
        }
    }

    /// Refreshes every [`WATCH_INTERVAL`] until `shutdown`.
    pub async fn watch(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(WATCH_INTERVAL) => self.refresh(),
            }
        }
    }
}

/// Reads a file for a check that has no running server (the healthcheck):
/// the parsed settings, without watching.
pub fn read_settings(path: &Path) -> Result<Settings, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Settings::parse(&text, path).map(|(settings, _)| settings)
}

/// Toolkit header names and what they accept, for documentation and tests.
pub fn configurable_headers() -> BTreeMap<&'static str, &'static [&'static str]> {
    HEADERS.into_iter().collect()
}
