//! End to end: a real Prometheus scrapes the exporter over TLS with basic
//! auth and over mutual TLS (`RequireAndVerifyClientCert`); a wrong
//! password and a missing client certificate leave the target down.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::pki::{Pki, hash, serve};
use crate::prometheus::Prometheus;

const TLS: &str = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";

#[tokio::test]
async fn prometheus_scrapes_over_tls_with_basic_auth_and_over_mutual_tls() {
    let pki = Pki::new("prometheus");
    let stop = CancellationToken::new();
    let basic = pki.write(
        "basic.yml",
        &format!("{TLS}basic_auth_users:\n  prometheus: {}\n", hash("scrape-pass")),
    );
    let (basic_address, _basic) = serve(&basic, &stop).await;
    let mutual = pki.write(
        "mutual.yml",
        &format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n"),
    );
    let (mutual_address, _mutual) = serve(&mutual, &stop).await;
    let dir = pki.dir.display();
    let config = format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: basic
    scheme: https
    tls_config:
      ca_file: {dir}/ca.pem
    basic_auth:
      username: prometheus
      password: scrape-pass
    static_configs:
      - targets: ["{basic_address}"]
  - job_name: basic-wrong-password
    scheme: https
    tls_config:
      ca_file: {dir}/ca.pem
    basic_auth:
      username: prometheus
      password: guessed
    static_configs:
      - targets: ["{basic_address}"]
  - job_name: mutual
    scheme: https
    tls_config:
      ca_file: {dir}/ca.pem
      cert_file: {dir}/client.pem
      key_file: {dir}/client.key
    static_configs:
      - targets: ["{mutual_address}"]
  - job_name: mutual-without-certificate
    scheme: https
    tls_config:
      ca_file: {dir}/ca.pem
    static_configs:
      - targets: ["{mutual_address}"]
"#
    );
    let prometheus = Prometheus::start("tls", &config, &[]).await;
    let expected = [
        ("basic", 1.0),
        ("basic-wrong-password", 0.0),
        ("mutual", 1.0),
        ("mutual-without-certificate", 0.0),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = prometheus.now().await;
        let up = prometheus.instant("up", now).await;
        let seen: Vec<(String, f64)> = expected
            .iter()
            .map(|(job, _)| {
                let value = up
                    .iter()
                    .find(|(labels, _)| labels.get("job").map(String::as_str) == Some(job))
                    .map_or(f64::NAN, |(_, v)| *v);
                (job.to_string(), value)
            })
            .collect();
        if seen.iter().zip(expected).all(|((_, v), (_, e))| *v == e) {
            break;
        }
        assert!(Instant::now() < deadline, "up after 30s: {seen:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The scrape itself came through: the exporter's own series are there.
    let now = prometheus.now().await;
    let built = prometheus.instant("workato_exporter_build_info", now).await;
    let jobs: Vec<&str> = built
        .iter()
        .filter_map(|(l, _)| l.get("job").map(String::as_str))
        .collect();
    assert!(jobs.contains(&"basic") && jobs.contains(&"mutual"), "{jobs:?}");
    stop.cancel();
}
