//! Certificates made by the tests themselves (rcgen): a CA, a server
//! certificate for 127.0.0.1 and localhost, clients it signed and one it
//! did not, written as PEM files into a folder of the test's own; and the
//! exporter serving with a web configuration written there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SanType};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use workato_exporter::http;

/// A PEM certificate and its PEM key.
pub struct Pair {
    pub cert: String,
    pub key: String,
}

impl Pair {
    /// As reqwest wants a client identity: certificate and key in one PEM.
    pub fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert, self.key).as_bytes()).expect("identity")
    }
}

pub struct Pki {
    pub dir: PathBuf,
    pub ca: String,
    issuer: Issuer<'static, KeyPair>,
    /// Signed by the CA, SAN `prometheus.example`.
    pub client: Pair,
    /// Signed by the CA, SAN `intruder.example`.
    pub other_client: Pair,
    /// Self-signed: no CA vouches for it.
    pub rogue: Pair,
}

fn leaf(names: &[&str], issuer: &Issuer<'_, KeyPair>) -> Pair {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    for name in names {
        params.subject_alt_names.push(match name.parse() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*name).try_into().expect("a DNS name")),
        });
    }
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, issuer).expect("signed");
    Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

impl Pki {
    /// A new CA and certificates, in a new folder named after the test.
    pub fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("we-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "workato_exporter test CA");
        let ca = params.self_signed(&ca_key).expect("CA").pem();
        let issuer = Issuer::new(params, ca_key);
        let rogue_key = KeyPair::generate().expect("key");
        let mut rogue_params = CertificateParams::new(vec!["prometheus.example".to_string()]).expect("params");
        rogue_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let rogue = Pair {
            cert: rogue_params.self_signed(&rogue_key).expect("self-signed").pem(),
            key: rogue_key.serialize_pem(),
        };
        let pki = Pki {
            client: leaf(&["prometheus.example"], &issuer),
            other_client: leaf(&["intruder.example"], &issuer),
            rogue,
            ca,
            issuer,
            dir,
        };
        pki.write("ca.pem", &pki.ca);
        pki.write("client.pem", &pki.client.cert);
        pki.write("client.key", &pki.client.key);
        pki.new_server_certificate();
        pki
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes a new server certificate and key (server.pem, server.key)
    /// over the old ones; returns the certificate.
    pub fn new_server_certificate(&self) -> Pair {
        let pair = leaf(&["127.0.0.1", "localhost"], &self.issuer);
        self.write("server.key", &pair.key);
        self.write("server.pem", &pair.cert);
        pair
    }

    /// A client trusting the CA, with a client certificate when given,
    /// returning the peer's certificate. A new client: a new connection.
    pub fn client(&self, identity: Option<&Pair>) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_info(true)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca.as_bytes()).unwrap());
        if let Some(pair) = identity {
            builder = builder.identity(pair.identity());
        }
        builder.build().expect("client")
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A bcrypt hash, at the lowest cost to keep tests fast.
pub fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).expect("bcrypt")
}

/// The exporter's routes served with the web configuration at `path`
/// (no poller): the address and the configuration in force.
pub async fn serve(path: &Path, stop: &CancellationToken) -> (std::net::SocketAddr, Arc<http::Web>) {
    let server = wiremock::MockServer::start().await;
    let config = crate::helpers::config_with(&server.uri(), &[]);
    let app = workato_exporter::App::with_client_options(config, crate::helpers::fast_options()).expect("app");
    let web = Arc::new(http::Web::load(path).expect("a good web configuration"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(http::serve_with(
        listener,
        app.http_state(),
        stop.clone(),
        16,
        Some(Arc::clone(&web)),
    ));
    // The mock Workato lives as long as the test's runtime.
    std::mem::forget(server);
    (address, web)
}
