//! A table of good and bad web configuration files, in the spirit of the
//! exporter toolkit's own test data (written here), and what the binary
//! says of a broken one at start.

use workato_exporter::http::Web;

use workato_exporter::App;

use crate::helpers::{admin_config, fast_options, run_tool};
use crate::pki::{Pki, hash};

const TLS: &str = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";

#[test]
fn good_files_load_and_bad_ones_are_refused_naming_the_field() {
    let pki = Pki::new("table");
    let inline = format!(
        "tls_server_config:\n  cert: |\n{}  key: |\n{}",
        indent(&std::fs::read_to_string(pki.dir.join("server.pem")).unwrap()),
        indent(&std::fs::read_to_string(pki.dir.join("server.key")).unwrap()),
    );
    let inline_ca = format!(
        "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca: |\n{}",
        indent(&pki.ca)
    );
    let users = format!("basic_auth_users:\n  alice: {}\n  bob: {}\n", hash("a"), hash("b"));
    let good: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("tls", TLS.into()),
        ("tls inline", inline),
        ("client CA inline", inline_ca),
        ("users only", users.clone()),
        ("tls and users", format!("{TLS}{users}")),
        ("TLS13 only", format!("{TLS}  min_version: TLS13\n  max_version: TLS13\n")),
        ("TLS12 only", format!("{TLS}  max_version: TLS12\n")),
        (
            "suites and curves",
            format!(
                "{TLS}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n  curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: false\n"
            ),
        ),
        (
            "headers",
            "http_server_config:\n  http2: false\n  headers:\n    Strict-Transport-Security: max-age=31536000\n    X-Content-Type-Options: nosniff\n    X-Frame-Options: sameorigin\n    X-XSS-Protection: 1; mode=block\n    Content-Security-Policy: default-src 'self'\n".into(),
        ),
        ("RequireClientCert (the toolkit's old name)", format!("{TLS}  client_auth_type: RequireClientCert\n")),
    ];
    for (name, text) in &good {
        let path = pki.write("good.yml", text);
        if let Err(error) = Web::load(&path) {
            panic!("{name}: refused: {error}");
        }
    }
    let bad: Vec<(&str, String, &str)> = vec![
        (
            "unknown top-level key",
            "tls_config:\n  cert_file: x\n".into(),
            "tls_config` … line 1",
        ),
        (
            "unknown TLS key",
            format!("{TLS}  ca_file: ca.pem\n"),
            "ca_file` … line 4",
        ),
        (
            "missing cert",
            "tls_server_config:\n  key_file: server.key\n".into(),
            "cert or cert_file",
        ),
        (
            "missing key",
            "tls_server_config:\n  cert_file: server.pem\n".into(),
            "key or key_file",
        ),
        (
            "empty cert path",
            "tls_server_config:\n  cert_file: ''\n  key_file: server.key\n".into(),
            "cert_file: empty",
        ),
        (
            "cert file missing",
            "tls_server_config:\n  cert_file: nowhere.pem\n  key_file: server.key\n".into(),
            "nowhere.pem",
        ),
        (
            "both cert and cert_file",
            format!("{TLS}  cert: x\n"),
            "cert or cert_file, not both",
        ),
        (
            "key of another cert",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n".into(),
            "does not belong",
        ),
        (
            "not PEM",
            "tls_server_config:\n  cert_file: web.yml\n  key_file: server.key\n".into(),
            "tls_server_config.cert",
        ),
        (
            "unknown client auth",
            format!("{TLS}  client_auth_type: Sometimes\n"),
            "Sometimes",
        ),
        (
            "verify without CA",
            format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n"),
            "needs client_ca_file",
        ),
        (
            "CA without client auth",
            format!("{TLS}  client_ca_file: ca.pem\n"),
            "NoClientCert",
        ),
        (
            "CA that is no CA",
            format!("{TLS}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: server.key\n"),
            "client_ca",
        ),
        (
            "SANs with optional certs",
            format!(
                "{TLS}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n  client_allowed_sans: [a]\n"
            ),
            "client_allowed_sans requires",
        ),
        (
            "TLS 1.1",
            format!("{TLS}  min_version: TLS11\n"),
            "TLS11 is not supported",
        ),
        ("bad version", format!("{TLS}  max_version: TLS14\n"), "TLS14"),
        (
            "min above max",
            format!("{TLS}  min_version: TLS13\n  max_version: TLS12\n"),
            "min_version",
        ),
        (
            "a Go-only cipher suite",
            format!("{TLS}  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n"),
            "TLS_RSA_WITH_AES_128_CBC_SHA is not supported",
        ),
        (
            "P-521",
            format!("{TLS}  curve_preferences: [CurveP521]\n"),
            "CurveP521 is not supported",
        ),
        (
            "plain password",
            "basic_auth_users:\n  alice: hunter2\n".into(),
            "basic_auth_users.alice",
        ),
        (
            "users as a list",
            "basic_auth_users:\n  - alice\n".into(),
            "basic_auth_users",
        ),
        (
            "a header the toolkit refuses",
            "http_server_config:\n  headers:\n    Server: x\n".into(),
            "\"Server\" can not be configured",
        ),
        (
            "a bad X-Frame-Options",
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n".into(),
            "X-Frame-Options",
        ),
        (
            "a bad X-Content-Type-Options",
            "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n".into(),
            "X-Content-Type-Options",
        ),
        (
            "rate_limit",
            "rate_limit:\n  interval: 1s\n  burst: 2\n".into(),
            "rate_limit is not supported",
        ),
        ("not YAML", "tls_server_config: [\n".into(), "line"),
    ];
    for (name, text, expected) in &bad {
        let path = pki.write("web.yml", text);
        let error = Web::load(&path).err().unwrap_or_else(|| panic!("{name}: accepted"));
        let parts: Vec<&str> = expected.split(" … ").collect();
        assert!(parts.iter().all(|p| error.contains(p)), "{name}: {error}");
        assert!(!error.contains('\n'), "{name}: one line: {error}");
        assert!(
            !error.contains("PRIVATE KEY") && !error.contains("hunter2"),
            "{name}: {error}"
        );
    }
}

fn indent(pem: &str) -> String {
    pem.lines().map(|l| format!("    {l}\n")).collect()
}

#[test]
fn a_broken_web_config_at_start_exits_2_with_one_line_naming_the_field() {
    let pki = Pki::new("start");
    let path = pki.write("web.yml", "tls_server_config:\n  cert_file: server.pem\n");
    let (ok, printed) = run_tool(
        std::process::Command::new(env!("CARGO_BIN_EXE_workato_exporter"))
            .args(["--demo", "--web.listen-address", "127.0.0.1:0", "--web.config.file"])
            .arg(&path),
    );
    assert!(!ok);
    let lines: Vec<&str> = printed.lines().filter(|l| l.contains("web.config.file")).collect();
    assert_eq!(lines.len(), 1, "{printed}");
    assert!(lines[0].contains("key or key_file"), "{printed}");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_workato_exporter"))
        .args(["--demo", "--web.listen-address", "127.0.0.1:0", "--web.config.file"])
        .arg(&path)
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(2));
}

#[tokio::test]
async fn a_clear_text_admin_route_beyond_loopback_is_refused_unless_allowed() {
    let server = wiremock::MockServer::start().await;
    // Nothing is bound: the check comes first.
    let everywhere = ["--web.listen-address", "0.0.0.0:9862"];
    let error = App::with_client_options(admin_config(&server.uri(), &everywhere), fast_options())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains("--admin.allow-plaintext") && !error.contains('\n'),
        "{error}"
    );
    assert!(!error.contains(crate::helpers::ADMIN_TOKEN), "{error}");
    let allowed = [everywhere[0], everywhere[1], "--admin.allow-plaintext"];
    assert!(App::with_client_options(admin_config(&server.uri(), &allowed), fast_options()).is_ok());
    let elsewhere = [everywhere[0], everywhere[1], "--admin.listen-address", "127.0.0.1:9863"];
    assert!(App::with_client_options(admin_config(&server.uri(), &elsewhere), fast_options()).is_ok());
    let pki = Pki::new("admin-default");
    let path = pki.write("web.yml", TLS);
    let tls = [
        everywhere[0],
        everywhere[1],
        "--web.config.file",
        path.to_str().unwrap(),
    ];
    assert!(App::with_client_options(admin_config(&server.uri(), &tls), fast_options()).is_ok());
}
