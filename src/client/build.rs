//! Building the client from its settings: the base URL, the credentials
//! (as headers, marked sensitive), the requests-per-minute budget and the
//! options. The settings come from `config`; the client never reads the
//! whole configuration.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{self, HeaderMap, HeaderValue};
use secrecy::ExposeSecret;

use workato_api::Budget;

use super::options::{ClientOptions, Observer};
use super::transport::Client;
use crate::config::Auth;
use crate::error::{Error, Result};

impl Client {
    /// A client for the Workato API at `base_url`, authenticated by `auth`,
    /// sending at most `requests_per_minute` per endpoint group.
    pub fn with_options(
        base_url: &Url,
        auth: &Auth,
        requests_per_minute: NonZeroU32,
        options: ClientOptions,
        observer: Arc<dyn Observer>,
    ) -> Result<Client> {
        Client::with_budget(base_url, auth, Budget::new(requests_per_minute), options, observer)
    }

    /// As [`Client::with_options`], spending `budget` (an Embed admin
    /// workspace's, whose groups differ in quota).
    pub fn with_budget(
        base_url: &Url,
        auth: &Auth,
        budget: Budget,
        options: ClientOptions,
        observer: Arc<dyn Observer>,
    ) -> Result<Client> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let secret_header = |value: &str| {
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                Error::Config("the Workato API token contains characters not allowed in an HTTP header".into())
            })?;
            value.set_sensitive(true);
            Ok::<_, Error>(value)
        };
        match auth {
            Auth::Bearer(token) => {
                headers.insert(
                    header::AUTHORIZATION,
                    secret_header(&format!("Bearer {}", token.expose_secret()))?,
                );
            }
            Auth::Legacy { email, token } => {
                let email = HeaderValue::from_str(email)
                    .map_err(|_| Error::Config("--workato.email: not a valid header value".into()))?;
                headers.insert("x-user-email", email);
                headers.insert("x-user-token", secret_header(token.expose_secret())?);
            }
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("workato_exporter/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            // Never follow a redirect: another host would get the legacy
            // X-USER-TOKEN header (reqwest strips only Authorization), its
            // data would pass for Workato's, and a loop would spend the
            // budget. A 3xx is an error naming where it pointed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let mut api_root = base_url.clone();
        if !api_root.path().ends_with('/') {
            let path = format!("{}/", api_root.path());
            api_root.set_path(&path);
        }
        let api_root = api_root
            .join("api/")
            .map_err(|e| Error::Config(format!("--workato.base-url: {e}")))?;
        Ok(Client::from_parts(http, api_root, budget, options, observer))
    }
}
