//! `tls_server_config` turned into a rustls server configuration (ring
//! provider). What rustls cannot do as Go's crypto/tls would (TLS 1.0 and
//! 1.1, CBC and RSA key-exchange suites, P-521) is refused by name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, ring as provider};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::file::TlsFile;
use super::verify::{AllowedSans, AnyClientCert};

/// The five policies of Go's `tls.ClientAuthType`, as the toolkit names them.
pub const CLIENT_AUTH_TYPES: [&str; 5] = [
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
];

/// Reads a file named in the configuration, relative to the file's folder.
fn read(dir: &Path, field: &str, name: &str, files: &mut Vec<PathBuf>) -> Result<Vec<u8>, String> {
    if name.trim().is_empty() {
        return Err(format!("tls_server_config.{field}: empty path"));
    }
    let path = dir.join(name);
    files.push(path.clone());
    std::fs::read(&path).map_err(|e| format!("tls_server_config.{field}: cannot read {}: {e}", path.display()))
}

/// One of `inline` and `file`, read; neither or both is an error.
fn either(
    dir: &Path,
    inline: (&str, &Option<String>),
    file: (&str, &Option<String>),
    files: &mut Vec<PathBuf>,
) -> Result<Option<Vec<u8>>, String> {
    match (inline.1, file.1) {
        (Some(_), Some(_)) => Err(format!("tls_server_config: give {} or {}, not both", inline.0, file.0)),
        (Some(text), None) => Ok(Some(text.as_bytes().to_vec())),
        (None, Some(name)) => read(dir, file.0, name, files).map(Some),
        (None, None) => Ok(None),
    }
}

fn version(field: &str, text: &Option<String>, default: u8) -> Result<u8, String> {
    match text.as_deref() {
        None => Ok(default),
        Some("TLS12") => Ok(12),
        Some("TLS13") => Ok(13),
        Some(old @ ("TLS10" | "TLS11")) => Err(format!(
            "tls_server_config.{field}: {old} is not supported (rustls speaks TLS12 and TLS13 only)"
        )),
        Some(other) => Err(format!(
            "tls_server_config.{field}: unknown TLS version {other:?}; expected TLS12 or TLS13"
        )),
    }
}

/// The provider, its TLS 1.2 suites and key-exchange groups narrowed to
/// the configured ones, in the configured order.
fn provider(tls: &TlsFile) -> Result<CryptoProvider, String> {
    let mut provider = provider::default_provider();
    if let Some(names) = &tls.cipher_suites {
        let mut suites: Vec<SupportedCipherSuite> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        for name in names {
            let suite = provider
                .cipher_suites
                .iter()
                .find(|s| s.version() == &rustls::version::TLS12 && format!("{:?}", s.suite()) == *name)
                .ok_or_else(|| {
                    format!("tls_server_config.cipher_suites: {name} is not supported by rustls (only ECDHE with AES-GCM or ChaCha20-Poly1305)")
                })?;
            suites.push(*suite);
        }
        provider.cipher_suites = suites;
    }
    if let Some(curves) = &tls.curve_preferences {
        let mut groups = Vec::new();
        for curve in curves {
            let wanted = match curve.as_str() {
                "X25519" => rustls::NamedGroup::X25519,
                "CurveP256" => rustls::NamedGroup::secp256r1,
                "CurveP384" => rustls::NamedGroup::secp384r1,
                "CurveP521" => {
                    return Err("tls_server_config.curve_preferences: CurveP521 is not supported by rustls".into());
                }
                other => return Err(format!("tls_server_config.curve_preferences: unknown curve {other}")),
            };
            let group = provider.kx_groups.iter().find(|g| g.name() == wanted).copied();
            groups.extend(group);
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

/// What `build` makes: the server configuration, its certificate and key
/// (the healthcheck pins the one and presents both), and the files it was
/// read from (to watch).
pub type Built = (Arc<ServerConfig>, Arc<CertifiedKey>, Vec<PathBuf>);

pub fn build(tls: &TlsFile, dir: &Path) -> Result<Built, String> {
    let mut files = Vec::new();
    let cert = either(dir, ("cert", &tls.cert), ("cert_file", &tls.cert_file), &mut files)?
        .ok_or("tls_server_config: missing one of cert or cert_file")?;
    let key = either(dir, ("key", &tls.key), ("key_file", &tls.key_file), &mut files)?
        .ok_or("tls_server_config: missing one of key or key_file")?;
    let client_ca = either(
        dir,
        ("client_ca", &tls.client_ca),
        ("client_ca_file", &tls.client_ca_file),
        &mut files,
    )?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<_, _>>()
        .map_err(|_| "tls_server_config.cert: not a PEM certificate".to_string())?;
    if chain.is_empty() {
        return Err("tls_server_config.cert: no certificate found".into());
    }
    // The key's own parse errors are not passed on: they could quote it.
    let key = PrivateKeyDer::from_pem_slice(&key)
        .map_err(|_| "tls_server_config.key: no PEM private key found (PKCS#8, PKCS#1 or SEC1)".to_string())?;

    let min = version("min_version", &tls.min_version, 12)?;
    let max = version("max_version", &tls.max_version, 13)?;
    if min > max {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let versions: Vec<&'static SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, v)| v)
            .collect();
    let provider = Arc::new(provider(tls)?);
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|_| "tls_server_config.key: unsupported private key".to_string())?;
    let certified = Arc::new(CertifiedKey::new(chain, signing));
    certified
        .keys_match()
        .map_err(|_| "tls_server_config: the key does not belong to the certificate".to_string())?;

    let verifier = client_verifier(tls, client_ca.as_deref(), &provider)?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(Fixed(Arc::clone(&certified))));
    config.ignore_client_order = tls.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), certified, files))
}

/// Always the one certificate (and chain) of the configuration.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

fn client_verifier(
    tls: &TlsFile,
    client_ca: Option<&[u8]>,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
    let policy = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let roots = match client_ca {
        None => None,
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|_| "tls_server_config.client_ca: not a PEM certificate".to_string())?;
                roots
                    .add(cert)
                    .map_err(|e| format!("tls_server_config.client_ca: {e}"))?;
            }
            if roots.is_empty() {
                return Err("tls_server_config.client_ca: no certificate found".into());
            }
            Some(Arc::new(roots))
        }
    };
    let verified = |optional: bool| -> Result<Arc<dyn ClientCertVerifier>, String> {
        let roots = roots
            .clone()
            .ok_or_else(|| format!("tls_server_config.client_auth_type: {policy} needs client_ca_file or client_ca"))?;
        let builder = WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(provider));
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder.build().map_err(|e| format!("tls_server_config.client_ca: {e}"))
    };
    let hints = roots.as_ref().map(|r| r.subjects()).unwrap_or_default();
    let any = |mandatory: bool| -> Arc<dyn ClientCertVerifier> {
        Arc::new(AnyClientCert::new(mandatory, hints.clone(), Arc::clone(provider)))
    };
    let (verifier, required) = match policy {
        "NoClientCert" => {
            if roots.is_some() {
                return Err(
                    "tls_server_config: client_ca_file or client_ca is set but client_auth_type is NoClientCert".into(),
                );
            }
            (None, false)
        }
        "RequestClientCert" => (Some(any(false)), false),
        "RequireAnyClientCert" | "RequireClientCert" => (Some(any(true)), true),
        "VerifyClientCertIfGiven" => (Some(verified(true)?), false),
        "RequireAndVerifyClientCert" => (Some(verified(false)?), true),
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown {other:?}; expected one of {}",
                CLIENT_AUTH_TYPES.join(", ")
            ));
        }
    };
    match (&tls.client_allowed_sans, verifier) {
        (None, verifier) => Ok(verifier),
        (Some(sans), Some(inner)) if required => {
            if sans.is_empty() {
                return Err("tls_server_config.client_allowed_sans: empty; it would refuse every client".into());
            }
            Ok(Some(Arc::new(AllowedSans::new(inner, sans.clone()))))
        }
        (Some(_), _) => Err(
            "tls_server_config.client_allowed_sans requires client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert"
                .into(),
        ),
    }
}
