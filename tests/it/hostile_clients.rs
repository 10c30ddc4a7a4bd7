//! What a hostile Workato or hostile HTTP clients send cannot bloat the
//! exposition or take every file descriptor (issue 11, items 7 and 11).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_exporter::snapshot::Collector;

use crate::helpers::{
    ListPages, Samples, TOKEN, TestApp, config_with, fast_options, fixture, free_port, mount_workspace, wait_for,
};

/// A mebibyte.
const MIB: usize = 1 << 20;

/// Writes a raw HTTP/1.1 request on `stream`.
async fn write_request(stream: &mut TcpStream, request_line: &str, headers: &[&str], body: &[u8]) {
    let mut head = format!("{request_line} HTTP/1.1\r\nHost: exporter\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("request written");
    stream.write_all(body).await.expect("body written");
}

/// Reads one response with a Content-Length from a kept-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).await.expect("response") > 0,
            "closed: {head}"
        );
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().expect("a length");
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.expect("body");
    head + &String::from_utf8_lossy(&body)
}

// Item 7: label-size amplification.

#[tokio::test]
async fn megabyte_names_from_workato_cost_at_most_256_bytes_per_label() {
    let server = MockServer::start().await;
    // A quote and a backslash to escape, then two-byte characters so that
    // byte 253, where the cut falls, is inside one; the names differ only
    // a mebibyte in, far past the cut.
    let name = |i: usize| format!("ab\"\\{}{i}", "é".repeat(MIB / 2));
    let mut recipes = Vec::new();
    for i in 0..4 {
        let mut recipe = fixture("recipes.json")["items"][0].clone();
        recipe["id"] = json!(1000 + i);
        recipe["name"] = json!(name(i));
        recipe["trigger_application"] = json!("t".repeat(MIB));
        recipes.push(recipe);
    }
    // One recipe a page: no reply is much over a mebibyte.
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ListPages::new(json!({ "items": recipes }), 1))
        .mount(&server)
        .await;
    let mut me = fixture("users_me.json");
    me["name"] = json!("w".repeat(MIB));
    Mock::given(method("GET"))
        .and(path("/api/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(me))
        .mount(&server)
        .await;
    mount_workspace(&server).await;
    let app = TestApp::spawn(&server).await;
    assert!(app.poll_all().await.is_empty());
    // A second jobs cycle observes the jobs the first one calibrated on.
    app.poller.poll_once(Collector::Jobs).await.expect("jobs poll");

    let bytes = app.get("/metrics").await.bytes().await.unwrap();
    assert!(
        bytes.len() < MIB,
        "{} bytes of exposition for 4 recipes (4 MiB of names and 4 MiB of trigger application)",
        bytes.len()
    );
    let text = String::from_utf8(bytes.to_vec()).expect("the exposition is UTF-8");
    let samples = Samples::parse(&text);
    let cut = format!("ab\"\\{}…", "é".repeat(124));
    assert_eq!(cut.len(), 255, "cut before the character that byte 253 falls in");
    let running = samples.find("workato_recipe_running", &[]);
    assert_eq!(running.len(), 4, "one series per recipe");
    let mut ids: Vec<&str> = running.iter().map(|s| s.labels["recipe_id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "the same cut name, still one series per recipe_id");
    for sample in samples.0.iter().filter(|s| s.labels.contains_key("recipe")) {
        assert_eq!(sample.labels["recipe"], cut, "{}", sample.name);
    }
    assert!(samples.has("workato_job_duration_seconds_count", &[("recipe", &cut)]));
    for sample in &samples.0 {
        for (label, value) in &sample.labels {
            assert!(
                value.len() <= 256,
                "{}{{{label}}} is {} bytes",
                sample.name,
                value.len()
            );
        }
    }
    let info = samples.find("workato_workspace_info", &[]);
    assert_eq!(info[0].labels["name"], format!("{}…", "w".repeat(253)));
}

// Item 11: file descriptors.

#[tokio::test]
async fn beyond_the_connection_limit_new_connections_wait_until_one_closes() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let config = config_with(&server.uri(), &["--web.max-connections", "4"]);
    let app = TestApp::spawn_with(config, fast_options()).await;
    // Four kept-alive connections, each answered once: all four are open.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(app.address).await.unwrap();
        write_request(&mut stream, "GET /healthz", &[], b"").await;
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut waiting = TcpStream::connect(app.address).await.expect("the kernel queues it");
    write_request(&mut waiting, "GET /metrics", &["Connection: close"], b"").await;
    let mut first = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), waiting.read(&mut first))
            .await
            .is_err(),
        "a fifth connection was served while four were open"
    );
    drop(held.pop());
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), waiting.read_to_end(&mut answer))
        .await
        .expect("served once a connection closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("workato_up"), "{answer}");
}

#[tokio::test]
async fn out_of_file_descriptors_the_exporter_says_so_once_and_serves_again_after() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    // Few descriptors and a connection limit above them: accepts fail.
    let mut child = tokio::process::Command::new("sh")
        .args(["-c", "ulimit -n 48 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_workato_exporter"))
        .args(["--web.listen-address", &address, "--web.max-connections", "1000"])
        .args(["--workato.base-url", "http://127.0.0.1:9", "--log.format", "json"])
        .env("WORKATO_API_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sh and the exporter run");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let collected = Arc::clone(&lines);
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            collected.lock().unwrap().push(line);
        }
    });
    wait_for(
        &format!("http://{address}/healthz"),
        "the exporter",
        Duration::from_secs(10),
    )
    .await;
    let failures = || {
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("accepting a connection failed"))
            .count()
    };
    let mut flood = Vec::new();
    for _ in 0..100 {
        flood.push(TcpStream::connect(&address).await.expect("the kernel queues it"));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while failures() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no accept failed: {:?}",
            lines.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The flood stays a second: the old loop logged every 50 ms.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(failures(), 1, "{:#?}", lines.lock().unwrap());
    drop(flood);
    wait_for(
        &format!("http://{address}/metrics"),
        "/metrics after the flood",
        Duration::from_secs(10),
    )
    .await;
    child.kill().await.unwrap();
}
