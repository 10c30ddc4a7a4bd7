//! The `healthcheck` subcommand: asks the exporter on
//! `--web.listen-address` for `/healthz`, as a container `HEALTHCHECK`
//! without shell tools.
//!
//! With `--web.config.file` it reads the same file: over TLS it trusts
//! exactly the certificate the file names (no CA needed, any host name),
//! and presents that certificate and key when the exporter asks for a
//! client certificate (so with `RequireAndVerifyClientCert` the client CA
//! must have issued the server's certificate, as in the README's example).
//! It holds no password, so with basic auth on, a 401 from the exporter's
//! own auth layer counts as serving.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};

/// True when the exporter at `address` answers `/healthz`. An unspecified
/// address (`:9862`) is asked on loopback.
pub async fn healthcheck(address: SocketAddr, web_config: Option<&Path>) -> bool {
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let settings = match web_config.map(http_server::web::read_settings).transpose() {
        Ok(settings) => settings,
        Err(error) => return unhealthy(&format!("--web.config.file: {error}")),
    };
    let builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(3));
    let (scheme, builder) = match settings.as_ref().and_then(|s| s.certified.clone()) {
        None => ("http", builder),
        Some(certified) => ("https", builder.use_preconfigured_tls(client_tls(certified))),
    };
    let basic_auth = settings.as_ref().is_some_and(|s| s.auth.is_some());
    let Ok(client) = builder.build() else {
        return unhealthy("cannot build an HTTP client");
    };
    let url = format!("{scheme}://{address}/healthz");
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => true,
        Ok(response) if basic_auth && response.status() == reqwest::StatusCode::UNAUTHORIZED => true,
        Ok(response) => unhealthy(&format!("/healthz answered {}", response.status())),
        Err(error) => unhealthy(&format!("cannot reach {url}: {error}")),
    }
}

/// Says why on stderr; a closed stderr loses the line, not the status.
fn unhealthy(why: &str) -> bool {
    let _ = writeln!(std::io::stderr(), "unhealthy: {why}");
    false
}

fn client_tls(certified: Arc<CertifiedKey>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pinned = Pinned {
        leaf: certified
            .cert
            .first()
            .cloned()
            .unwrap_or_else(|| CertificateDer::from(Vec::new())),
        provider: Arc::clone(&provider),
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(pinned));
    builder.with_client_cert_resolver(Arc::new(Present(certified)))
}

/// Trusts one certificate: the exporter's own.
#[derive(Debug)]
struct Pinned {
    leaf: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server's certificate is not the one in --web.config.file".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Presents the server's own certificate when a client certificate is asked for.
#[derive(Debug)]
struct Present(Arc<CertifiedKey>);

impl rustls::client::ResolvesClientCert for Present {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}
