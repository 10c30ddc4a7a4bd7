//! `--web.config.file`: TLS, mutual TLS with every `client_auth_type`,
//! basic auth and headers on both listeners, certificate rotation, reload
//! failures, and clear-text HTTP to the TLS port.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wiremock::MockServer;

use crate::helpers::{ADMIN_TOKEN, Samples, admin_config, fast_options, mount_workspace};
use crate::pki::{Pki, hash, serve};

const TLS: &str = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";

/// Whether a GET of /healthz over a new connection succeeds with this
/// client certificate (or none).
async fn reaches(pki: &Pki, address: std::net::SocketAddr, identity: Option<&crate::pki::Pair>) -> bool {
    let client = pki.client(identity);
    match client
        .get(format!("https://127.0.0.1:{}/healthz", address.port()))
        .send()
        .await
    {
        Ok(response) => response.status() == 200,
        Err(_) => false,
    }
}

#[tokio::test]
async fn every_client_auth_type_asks_for_and_checks_client_certificates_as_go_does() {
    let pki = Pki::new("client-auth");
    // (policy, extra, [no certificate, CA-signed, other CA-signed, self-signed])
    let cases: [(&str, &str, [bool; 4]); 6] = [
        ("NoClientCert", "", [true, true, true, true]),
        ("RequestClientCert", "", [true, true, true, true]),
        ("RequireAnyClientCert", "", [false, true, true, true]),
        (
            "VerifyClientCertIfGiven",
            "  client_ca_file: ca.pem\n",
            [true, true, true, false],
        ),
        (
            "RequireAndVerifyClientCert",
            "  client_ca_file: ca.pem\n",
            [false, true, true, false],
        ),
        (
            "RequireAndVerifyClientCert",
            "  client_ca_file: ca.pem\n  client_allowed_sans: [prometheus.example]\n",
            [false, true, false, false],
        ),
    ];
    for (policy, extra, expected) in cases {
        let path = pki.write("web.yml", &format!("{TLS}  client_auth_type: {policy}\n{extra}"));
        let stop = CancellationToken::new();
        let (address, _web) = serve(&path, &stop).await;
        let seen = [
            reaches(&pki, address, None).await,
            reaches(&pki, address, Some(&pki.client)).await,
            reaches(&pki, address, Some(&pki.other_client)).await,
            reaches(&pki, address, Some(&pki.rogue)).await,
        ];
        assert_eq!(seen, expected, "{policy} {extra}");
        stop.cancel();
    }
}

#[tokio::test]
async fn a_certificate_replaced_on_disk_is_served_to_the_next_connection() {
    let pki = Pki::new("rotation");
    let path = pki.write("web.yml", TLS);
    let stop = CancellationToken::new();
    let (address, web) = serve(&path, &stop).await;
    let peer = |client: reqwest::Client| async move {
        let response = client
            .get(format!("https://127.0.0.1:{}/healthz", address.port()))
            .send()
            .await
            .expect("served over TLS");
        let info = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .cloned()
            .expect("TLS info");
        info.peer_certificate().expect("a certificate").to_vec()
    };
    let kept_alive = pki.client(None);
    let before = peer(kept_alive.clone()).await;
    let rotated = pki.new_server_certificate();
    let after = peer(pki.client(None)).await;
    assert_ne!(before, after, "the next new connection gets the new certificate");
    let expected = rustls_pem(&rotated.cert);
    assert_eq!(after, expected);
    assert_eq!(web.reload_failures(), 0);
    stop.cancel();
}

/// The DER of a PEM certificate.
fn rustls_pem(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("a PEM certificate")
        .to_vec()
}

#[tokio::test]
async fn clear_text_http_to_the_tls_port_gets_no_metrics() {
    let pki = Pki::new("clear-text");
    let path = pki.write("web.yml", TLS);
    let stop = CancellationToken::new();
    let (address, _web) = serve(&path, &stop).await;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.0 400"), "{answer}");
    assert!(!answer.contains("workato_"), "{answer}");
    stop.cancel();
}

/// The whole exporter (poller, main and admin listeners) with a web config.
#[tokio::test]
async fn basic_auth_and_tls_guard_both_listeners_and_the_admin_token_stays_a_second_lock() {
    let pki = Pki::new("both-listeners");
    let users = format!("basic_auth_users:\n  prometheus: {}\n", hash("scrape-pass"));
    let headers = "http_server_config:\n  headers:\n    X-Frame-Options: deny\n";
    let path = pki.write("web.yml", &format!("{TLS}{users}{headers}"));
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let config = admin_config(
        &server.uri(),
        &[
            "--web.config.file",
            path.to_str().unwrap(),
            "--admin.listen-address",
            "127.0.0.1:1",
        ],
    );
    let app = workato_exporter::App::with_client_options(config, fast_options()).expect("app");
    let main = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (main_port, admin_port) = (main.local_addr().unwrap().port(), admin.local_addr().unwrap().port());
    let stop = CancellationToken::new();
    tokio::spawn(app.run(main, Some(admin), stop.clone()));
    let client = pki.client(None);
    let url = |port: u16, path: &str| format!("https://127.0.0.1:{port}{path}");

    for route in ["/metrics", "/healthz", "/readyz", "/", "/admin"] {
        let refused = client.get(url(main_port, route)).send().await.unwrap();
        assert_eq!(refused.status(), 401, "{route} without credentials");
        assert_eq!(refused.headers()["www-authenticate"], "Basic");
        assert_eq!(refused.headers()["x-frame-options"], "deny");
    }
    let wrong = client
        .get(url(main_port, "/metrics"))
        .basic_auth("prometheus", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401, "a wrong password");
    let scraped = client
        .get(url(main_port, "/metrics"))
        .basic_auth("prometheus", Some("scrape-pass"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert_eq!(scraped.headers()["x-frame-options"], "deny");
    let samples = Samples::parse(&scraped.text().await.unwrap());
    assert_eq!(
        samples.value("workato_exporter_web_config_reload_failures_total", &[]),
        0.0
    );

    // The admin listener: basic auth first, then the admin token.
    let admin_url = url(admin_port, "/admin");
    let no_basic = client
        .get(&admin_url)
        .header("x-admin-token", ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(no_basic.status(), 401);
    assert_eq!(no_basic.headers()["www-authenticate"], "Basic");
    let no_token = client
        .get(&admin_url)
        .basic_auth("prometheus", Some("scrape-pass"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401, "basic auth alone does not open /admin");
    let challenge = no_token.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer"),
        "the admin route's own refusal: {challenge}"
    );
    let both = client
        .get(&admin_url)
        .basic_auth("prometheus", Some("scrape-pass"))
        .header("x-admin-token", ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 200);

    // A broken file later: the last good configuration stays, counted once.
    std::fs::write(&path, format!("{TLS}{users}unknown_key: 1\n")).unwrap();
    let mut failures = 0.0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let text = pki
            .client(None)
            .get(url(main_port, "/metrics"))
            .basic_auth("prometheus", Some("scrape-pass"))
            .send()
            .await
            .expect("still served")
            .text()
            .await
            .unwrap();
        failures = Samples::parse(&text).value("workato_exporter_web_config_reload_failures_total", &[]);
        if failures > 0.0 {
            break;
        }
    }
    assert_eq!(failures, 1.0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let text = client
        .get(url(main_port, "/metrics"))
        .basic_auth("prometheus", Some("scrape-pass"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = Samples::parse(&text);
    assert_eq!(
        samples.value("workato_exporter_web_config_reload_failures_total", &[]),
        1.0,
        "counted once, not once per look"
    );
    stop.cancel();
}

#[tokio::test]
async fn healthcheck_reads_the_same_web_config_over_tls_basic_auth_and_mutual_tls() {
    let pki = Pki::new("healthcheck");
    let users = format!("basic_auth_users:\n  prometheus: {}\n", hash("scrape-pass"));
    let mutual = "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n";
    for (name, text) in [
        ("tls", TLS.to_string()),
        ("basic", format!("{TLS}{users}")),
        ("mutual", format!("{TLS}{mutual}{users}")),
    ] {
        let path = pki.write(&format!("{name}.yml"), &text);
        let stop = CancellationToken::new();
        let (address, _web) = serve(&path, &stop).await;
        let check = move |config: Option<&std::path::Path>| {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_workato_exporter"));
            command.args(["healthcheck", "--web.listen-address", &address.to_string()]);
            if let Some(config) = config {
                command.arg("--web.config.file").arg(config);
            }
            command.output().expect("healthcheck runs")
        };
        let healthy = tokio::task::spawn_blocking({
            let path = path.clone();
            move || check(Some(&path))
        })
        .await
        .unwrap();
        assert!(
            healthy.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&healthy.stderr)
        );
        let plain = tokio::task::spawn_blocking(move || check(None)).await.unwrap();
        assert_eq!(
            plain.status.code(),
            Some(1),
            "{name}: clear text to the TLS port is not healthy"
        );
        stop.cancel();
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_is_cut_off() {
    let pki = Pki::new("slow-handshake");
    let path = pki.write("web.yml", TLS);
    let stop = CancellationToken::new();
    let (address, _web) = serve(&path, &stop).await;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // The first byte of a TLS handshake record, then silence.
    stream.write_all(&[22]).await.unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(
        http_server::serve::HANDSHAKE_TIMEOUT + Duration::from_secs(5),
        stream.read_to_end(&mut rest),
    )
    .await;
    assert!(read.is_ok(), "still open after the handshake timeout");
    assert!(started.elapsed() >= http_server::serve::HANDSHAKE_TIMEOUT - Duration::from_secs(1));
    stop.cancel();
}
