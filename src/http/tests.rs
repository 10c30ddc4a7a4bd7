//! The HTTP surface's tests that need its insides; the rest are in
//! `tests/it/http.rs`.

use std::io::{Read, Write};
use std::time::Duration;

use super::*;
use crate::App;
use crate::config::{Config, parse_cli};

#[test]
fn errors_on_the_status_page_are_short_and_plain() {
    assert_eq!(shorten("Workato answered HTTP 500"), "Workato answered HTTP 500");
    let long = format!("Workato answered HTTP 500 on GET /api/recipes: {}", "é".repeat(500));
    let short = shorten(&long);
    assert_eq!(short.chars().count(), MAX_ERROR_CHARS + " (see the log)".len());
    assert!(short.starts_with("Workato answered HTTP 500 on GET /api/recipes: éé"));
    assert!(short.ends_with("é… (see the log)"), "{short}");
    assert_eq!(shorten("a\nb\u{202E}c\u{7}"), "a b c ");
}

#[test]
fn html_is_escaped() {
    assert_eq!(
        escape_html("<b>\"x\" & 'y'</b>"),
        "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
    );
}

/// A scrape that waits for another's rendering (here: the text cache's
/// lock held, as a long rendering holds it) leaves the runtime's workers
/// free: with the only one, other requests are still answered meanwhile,
/// and the scrape once the lock is let go. On the worker, the waiting
/// scrape stalled every connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_scrape_waiting_for_a_rendering_holds_no_worker() {
    let cli = parse_cli(["workato_exporter", "--workato.base-url", "http://127.0.0.1:9"]).expect("valid command line");
    let app = App::new(Config::from_args(&cli.args, Some("token".into())).expect("config")).expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("address");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let state = app.http_state();
    tokio::spawn(serve(listener, Arc::clone(&state), shutdown.clone(), 8));

    let held = app.metrics.hold_text_cache();
    let scrape = tokio::spawn(reqwest::get(format!("http://{address}/metrics")));
    // Let the scrape take its turn (then it runs into the lock) before
    // asking for anything else.
    while state.scrapes.available_permits() == SCRAPE_THREADS {
        tokio::task::yield_now().await;
    }
    // Asked from a thread of its own, with a timeout of its own: a worker
    // held would stall the runtime's timers too.
    let health = std::thread::spawn(move || -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: exporter\r\nConnection: close\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    });
    let health = health.join().expect("the asking thread").expect(
        "/healthz answered while a scrape waited for the cache (a timeout: the waiting scrape held the worker)",
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(!scrape.is_finished(), "the scrape waits for the cache");
    drop(held);
    let scraped = scrape.await.expect("the scrape task").expect("the scrape answers");
    assert_eq!(scraped.status(), 200);
    shutdown.cancel();
}
