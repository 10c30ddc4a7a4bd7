//! `--web.config.file`: the exporter toolkit's web configuration (TLS,
//! mutual TLS, basic auth, headers; read by the serving leaf), loaded once
//! at start for every listener (its reload failures are a self-metric), and the
//! admin route's safe default: no clear-text admin beyond loopback unless
//! `--admin.allow-plaintext` says so.

use std::net::SocketAddr;
use std::sync::Arc;

use http_server::Web;

use crate::config::Config;
use crate::error::Error;

/// Loads the web configuration, if any; a broken file is a configuration
/// error (exit 2) naming the field. Refuses a clear-text admin route on a
/// non-loopback address unless allowed.
pub fn setup(config: &Config) -> Result<Option<Arc<Web>>, Error> {
    let web = match &config.web_config_file {
        None => None,
        Some(path) => {
            Some(Arc::new(Web::load(path).map_err(|e| {
                Error::Config(format!("--web.config.file {}: {e}", path.display()))
            })?))
        }
    };
    let tls = web.as_ref().is_some_and(|w| w.current().tls.is_some());
    if let Some(admin) = &config.admin {
        let address = admin.listen_address.unwrap_or(config.listen_address);
        check_admin_exposure(address, tls, admin.allow_plaintext)?;
    }
    Ok(web)
}

/// The admin route stops a company's integrations: beyond loopback it
/// needs TLS, or the operator's explicit word.
pub fn check_admin_exposure(address: SocketAddr, tls: bool, allow_plaintext: bool) -> Result<(), Error> {
    if tls || allow_plaintext || address.ip().is_loopback() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "the admin route would be served without TLS on {address}, beyond loopback: set tls_server_config in --web.config.file, serve it on a loopback --admin.listen-address, or pass --admin.allow-plaintext"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_text_admin_route_stays_on_loopback_unless_allowed() {
        let public: SocketAddr = "0.0.0.0:9862".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:9862".parse().unwrap();
        let error = check_admin_exposure(public, false, false).unwrap_err().to_string();
        assert!(
            error.contains("--admin.allow-plaintext") && !error.contains('\n'),
            "{error}"
        );
        assert!(check_admin_exposure(public, true, false).is_ok());
        assert!(check_admin_exposure(public, false, true).is_ok());
        assert!(check_admin_exposure(loopback, false, false).is_ok());
        assert!(check_admin_exposure("[::1]:1".parse().unwrap(), false, false).is_ok());
    }
}
