//! The Workato client against wiremock: request shape, decoding, errors,
//! timeouts, paging, throttling.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use workato_exporter::client::{Client, ClientOptions, NoObserver};
use workato_exporter::error::Error;

use crate::helpers::{ListPages, TOKEN, config_with, fast_options, fixture};

fn client(server: &MockServer, options: ClientOptions) -> Client {
    client_with(server, &[], options)
}

fn client_with(server: &MockServer, flags: &[&str], options: ClientOptions) -> Client {
    let config = config_with(&server.uri(), flags);
    Client::with_options(
        &config.workspaces[0].base_url,
        &config.workspaces[0].auth,
        config.workspaces[0].requests_per_minute,
        options,
        Arc::new(NoObserver),
    )
    .expect("client builds")
}

/// Every list endpoint the poller reads, called the same way in each test.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Endpoint {
    UsersMe,
    Recipes,
    Connections,
    ApiCollections,
    ApiEndpoints,
}

const ENDPOINTS: [Endpoint; 5] = [
    Endpoint::UsersMe,
    Endpoint::Recipes,
    Endpoint::Connections,
    Endpoint::ApiCollections,
    Endpoint::ApiEndpoints,
];

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::UsersMe => "/api/users/me",
            Endpoint::Recipes => "/api/recipes",
            Endpoint::Connections => "/api/connections",
            Endpoint::ApiCollections => "/api/api_collections",
            Endpoint::ApiEndpoints => "/api/api_endpoints",
        }
    }

    fn fixture(self) -> Value {
        fixture(match self {
            Endpoint::UsersMe => "users_me.json",
            Endpoint::Recipes => "recipes.json",
            Endpoint::Connections => "connections.json",
            Endpoint::ApiCollections => "api_collections.json",
            Endpoint::ApiEndpoints => "api_endpoints.json",
        })
    }

    /// Whether the list comes in pages (and so ends on an empty one).
    fn paged(self) -> bool {
        !matches!(self, Endpoint::UsersMe | Endpoint::Connections)
    }

    /// The fixture as Workato serves it: paged lists page by page.
    fn reply(self, mock: wiremock::MockBuilder) -> Mock {
        if self.paged() {
            mock.respond_with(ListPages::new(self.fixture(), 100))
        } else {
            mock.respond_with(ResponseTemplate::new(200).set_body_json(self.fixture()))
        }
    }

    /// The query every call must carry.
    fn query(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Endpoint::UsersMe | Endpoint::Connections => &[],
            Endpoint::Recipes => &[("per_page", "100"), ("exclude_code", "true")],
            Endpoint::ApiCollections | Endpoint::ApiEndpoints => &[("page", "1"), ("per_page", "100")],
        }
    }

    /// Calls the endpoint; returns how many items came back.
    async fn call(self, client: &Client) -> Result<usize, Error> {
        match self {
            Endpoint::UsersMe => client.workspace().await.map(|_| 1),
            Endpoint::Recipes => client.recipes().await.map(|r| r.recipes.len()),
            Endpoint::Connections => client.connections().await.map(|c| c.len()),
            Endpoint::ApiCollections => client.api_collections().await.map(|c| c.len()),
            Endpoint::ApiEndpoints => client.api_endpoints().await.map(|e| e.len()),
        }
    }

    fn expected_items(self) -> usize {
        match self {
            Endpoint::UsersMe => 1,
            _ => match self.fixture() {
                Value::Array(items) => items.len(),
                Value::Object(map) => map["items"].as_array().map_or(0, Vec::len),
                _ => 0,
            },
        }
    }
}

#[tokio::test]
async fn every_endpoint_sends_method_path_bearer_auth_user_agent_and_query() {
    for endpoint in ENDPOINTS {
        let server = MockServer::start().await;
        let mut mock = Mock::given(method("GET"))
            .and(path(endpoint.path()))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("accept", "application/json"))
            .and(header(
                "user-agent",
                concat!("workato_exporter/", env!("CARGO_PKG_VERSION")),
            ))
            .and(query_param_is_missing("user_token"))
            .and(query_param_is_missing("user_email"));
        for (key, value) in endpoint.query() {
            mock = mock.and(query_param(*key, *value));
        }
        if endpoint == Endpoint::Recipes {
            mock = mock.and(query_param_is_missing("since_id"));
        }
        endpoint.reply(mock).expect(1).with_priority(1).mount(&server).await;
        // Paged lists end on an empty page: one more call.
        endpoint
            .reply(Mock::given(method("GET")).and(path(endpoint.path())))
            .expect(u64::from(endpoint.paged()))
            .mount(&server)
            .await;
        let result = endpoint.call(&client(&server, fast_options())).await;
        assert!(result.is_ok(), "{endpoint:?}: {result:?}");
        server.verify().await;
    }
}

#[tokio::test]
async fn legacy_auth_sends_email_and_token_headers_never_query_parameters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .and(header("x-user-email", "ops@example.com"))
        .and(header("x-user-token", TOKEN))
        .and(query_param_is_missing("user_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(&server, &["--workato.email", "ops@example.com"], fast_options());
    client.connections().await.expect("legacy auth accepted");
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(
        requests.iter().all(|r| !r.headers.contains_key("authorization")),
        "no Bearer header with legacy auth"
    );
}

#[tokio::test]
async fn realistic_replies_decode_into_every_item() {
    for endpoint in ENDPOINTS {
        let server = MockServer::start().await;
        endpoint
            .reply(Mock::given(method("GET")).and(path(endpoint.path())))
            .mount(&server)
            .await;
        let count = endpoint.call(&client(&server, fast_options())).await;
        assert_eq!(count.ok(), Some(endpoint.expected_items()), "{endpoint:?}");
    }
}

#[tokio::test]
async fn server_errors_are_retried_three_times_then_reported_with_workatos_message() {
    for endpoint in ENDPOINTS {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(endpoint.path()))
            .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "Server error", "id": "3f1e-77"})))
            .expect(3)
            .mount(&server)
            .await;
        let error = endpoint.call(&client(&server, fast_options())).await.unwrap_err();
        match &error {
            Error::Status {
                status: 500,
                message,
                error_id,
                ..
            } => {
                assert_eq!(message, "Server error");
                assert_eq!(
                    error_id.as_deref(),
                    Some("3f1e-77"),
                    "the id to quote to Workato support"
                );
                assert!(error.to_string().contains("3f1e-77"), "{error}");
            }
            other => panic!("{endpoint:?}: expected a 500 status error, got {other:?}"),
        }
        server.verify().await;
    }
}

#[tokio::test]
async fn a_slow_answer_times_out_as_a_transport_error() {
    for endpoint in ENDPOINTS {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(endpoint.path()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(endpoint.fixture())
                    .set_delay(Duration::from_secs(3)),
            )
            .mount(&server)
            .await;
        let options = ClientOptions {
            timeout: Duration::from_millis(200),
            max_attempts: 1,
            ..fast_options()
        };
        let error = endpoint.call(&client(&server, options)).await.unwrap_err();
        assert!(
            matches!(&error, Error::Transport { reason, .. } if reason.contains("timed out")),
            "{endpoint:?}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_timeout_then_a_good_answer_succeeds_on_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(3)),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("connections.json")))
        .expect(1)
        .mount(&server)
        .await;
    let options = ClientOptions {
        timeout: Duration::from_millis(300),
        ..fast_options()
    };
    assert_eq!(
        client(&server, options).connections().await.map(|c| c.len()).ok(),
        Some(3)
    );
}

fn recipe(id: u64) -> Value {
    json!({"id": id, "name": format!("recipe {id}"), "running": true, "job_succeeded_count": id, "job_failed_count": 0})
}

#[tokio::test]
async fn recipes_walk_three_pages_with_the_since_id_cursor_to_an_empty_page() {
    let server = MockServer::start().await;
    // 250 recipes, ids 1000..=1249, newest first: pages of 100, 100, 50,
    // then the empty page that ends the walk.
    let ids: Vec<u64> = (1000..1250).rev().collect();
    let page = |chunk: &[u64]| json!({"items": chunk.iter().map(|id| recipe(*id)).collect::<Vec<_>>()});
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .and(query_param_is_missing("since_id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&ids[..100])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .and(query_param("since_id", "1150"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&ids[100..200])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .and(query_param("since_id", "1050"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&ids[200..])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .and(query_param("since_id", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[])))
        .expect(1)
        .mount(&server)
        .await;
    let recipes = client(&server, fast_options()).recipes().await.expect("three pages");
    let mut got: Vec<u64> = recipes.recipes.iter().map(|r| r.id).collect();
    got.sort_unstable();
    assert_eq!(got, (1000..1250).collect::<Vec<_>>());
    server.verify().await;
}

#[tokio::test]
async fn a_recipes_walk_that_does_not_advance_stops_with_an_error() {
    let server = MockServer::start().await;
    let full: Vec<Value> = (1..=100).rev().map(recipe).collect();
    // A server that ignores since_id returns the same full page forever.
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "items": full })))
        .expect(2)
        .mount(&server)
        .await;
    let error = client(&server, fast_options()).recipes().await.unwrap_err();
    assert!(matches!(error, Error::PaginationStuck { page: 2, .. }), "{error:?}");
}

#[tokio::test]
async fn api_endpoint_pages_that_repeat_stop_with_an_error() {
    let server = MockServer::start().await;
    let full: Vec<Value> = (1..=100).map(|id| json!({"id": id, "active": true})).collect();
    Mock::given(method("GET"))
        .and(path("/api/api_endpoints"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(full)))
        .expect(2)
        .mount(&server)
        .await;
    let error = client(&server, fast_options()).api_endpoints().await.unwrap_err();
    assert!(matches!(error, Error::PaginationStuck { page: 2, .. }), "{error:?}");
}

#[tokio::test]
async fn one_malformed_recipe_is_skipped_not_fatal() {
    let server = MockServer::start().await;
    let items = json!({"items": [recipe(3), {"id": {"nested": true}, "name": "broken"}, "not an object", recipe(1)]});
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .and(query_param_is_missing("since_id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .and(query_param("since_id", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .expect(1)
        .mount(&server)
        .await;
    let recipes = client(&server, fast_options()).recipes().await.expect("page decodes");
    assert_eq!(recipes.recipes.iter().map(|r| r.id).collect::<Vec<_>>(), vec![3, 1]);
}

#[tokio::test]
async fn a_reply_that_is_not_the_documented_shape_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    let error = client(&server, fast_options()).connections().await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(error.to_string().contains("GET /api/connections"), "{error}");
}

#[tokio::test]
async fn unauthorized_and_forbidden_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/users/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, fast_options());
    assert!(matches!(client.workspace().await, Err(Error::Unauthorized { .. })));
    let forbidden = client.connections().await.unwrap_err();
    assert!(
        forbidden.to_string().contains("List connections"),
        "names the privilege: {forbidden}"
    );
    assert!(!forbidden.to_string().contains(TOKEN));
    server.verify().await;
}

/// Records when each request arrived and answers with a fixed template.
#[derive(Clone)]
struct Recorder {
    times: Arc<Mutex<Vec<Instant>>>,
    template: ResponseTemplate,
}

impl Respond for Recorder {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.times.lock().expect("recorder lock").push(Instant::now());
        self.template.clone()
    }
}

fn recorder(template: ResponseTemplate) -> (Recorder, Arc<Mutex<Vec<Instant>>>) {
    let times = Arc::new(Mutex::new(Vec::new()));
    (
        Recorder {
            times: Arc::clone(&times),
            template,
        },
        times,
    )
}

#[tokio::test]
async fn a_429_with_retry_after_waits_that_long_then_succeeds() {
    let server = MockServer::start().await;
    let (throttled, times) = recorder(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "1")
            .set_body_json(json!({"message": "Too many requests"})),
    );
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(throttled)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let (ok, ok_times) = recorder(ResponseTemplate::new(200).set_body_json(fixture("connections.json")));
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ok)
        .mount(&server)
        .await;

    let client = client(&server, fast_options());
    assert_eq!(client.connections().await.map(|c| c.len()).ok(), Some(3));
    let first = times.lock().unwrap()[0];
    let second = ok_times.lock().unwrap()[0];
    assert!(
        second - first >= Duration::from_secs(1),
        "waited only {:?}",
        second - first
    );
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_and_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    client(&server, fast_options())
        .connections()
        .await
        .expect("third attempt succeeds");
    server.verify().await;
}

#[tokio::test]
async fn against_429_everywhere_the_client_keeps_to_its_budget_and_retry_after() {
    let server = MockServer::start().await;
    let (throttled, times) = recorder(ResponseTemplate::new(429).insert_header("Retry-After", "1"));
    Mock::given(method("GET")).respond_with(throttled).mount(&server).await;
    let client = client_with(&server, &["--workato.requests-per-minute", "3"], fast_options());

    // Keep polling for four seconds, as the poller would.
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        let attempt = tokio::time::timeout(deadline - Instant::now(), client.recipes()).await;
        if let Ok(result) = attempt {
            assert!(matches!(result, Err(Error::Throttled { .. })), "{result:?}");
        }
    }
    let times = times.lock().unwrap().clone();
    assert!(!times.is_empty());
    assert!(
        times.len() <= 3,
        "{} requests sent with a budget of 3 a minute",
        times.len()
    );
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(990),
            "Retry-After not honoured: {:?}",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_fails_at_once_and_holds_the_group() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, fast_options());
    let error = client.connections().await.unwrap_err();
    // An hour is more than the 15 minutes a 429 may hold a group.
    assert!(
        matches!(error, Error::Throttled { retry_after, .. } if retry_after == workato_exporter::client::MAX_HOLD),
        "{error:?}"
    );
    assert_eq!(
        client.budget().remaining(workato_exporter::client::Group::Connections),
        0
    );
    assert!(client.budget().remaining(workato_exporter::client::Group::Recipes) > 0);
    server.verify().await;
}

#[tokio::test]
async fn an_unreachable_workato_is_a_transport_error() {
    let port = crate::helpers::free_port();
    let config = config_with(&format!("http://127.0.0.1:{port}"), &[]);
    let client = Client::with_options(
        &config.workspaces[0].base_url,
        &config.workspaces[0].auth,
        config.workspaces[0].requests_per_minute,
        fast_options(),
        Arc::new(NoObserver),
    )
    .unwrap();
    let error = client.connections().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
}
