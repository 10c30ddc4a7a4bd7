//! One quota per group for the whole admin workspace, whichever customer a
//! call targets (WORKATO_EMBEDDED.md's table, scaled by `rate_limit / 60`).

use std::num::NonZeroU32;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{all_customers, call, config, spawn, stats};

#[tokio::test]
async fn customers_share_one_quota_per_group_and_the_next_call_is_429() {
    // 6 a minute for the developer API's groups: Embedded's customers group
    // (60) becomes 6, jobs (1,000) 100, list recipes (2,000) 200.
    let mut config = config(30, 4);
    config.rate_limit = NonZeroU32::new(6).expect("non-zero");
    let running = spawn(config).await;
    // One list call spends one of the customers group's six.
    let customers = all_customers(&running).await; // two calls: a page and the empty one
    assert_eq!(customers.len(), 30);
    for customer in &customers[..4] {
        let (status, _, _) = call(
            &running,
            Method::GET,
            &format!("/api/managed_users/{}", customer["id"]),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, retry_after, body) = call(
        &running,
        Method::GET,
        &format!("/api/managed_users/{}", customers[29]["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "Retry-After {retry_after:?}"
    );
    assert_eq!(body, json!({"message": "Too many requests"}));

    // Another group has its own quota, shared across customers too.
    let mut answered = Vec::new();
    for customer in customers.iter().cycle().take(101) {
        let path = format!("/api/managed_users/{}/recipes/1/jobs", customer["id"]);
        answered.push(call(&running, Method::GET, &path, None).await.0);
    }
    assert!(
        answered[..100].iter().all(|s| *s == StatusCode::NOT_FOUND),
        "no such recipe, but admitted"
    );
    assert_eq!(answered[100], StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = call(
        &running,
        Method::GET,
        &format!("/api/managed_users/{}/recipes", customers[0]["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "list recipes keeps its own quota");

    let stats = stats(&running).await;
    assert_eq!(stats["embedded"]["throttled"]["customers"], json!(1));
    assert_eq!(stats["embedded"]["throttled"]["jobs"], json!(1));
    assert_eq!(stats["throttled_total"], json!(2), "the total counts Embedded 429s too");
    assert_eq!(
        stats["requests"]["recipes"],
        json!(0),
        "the developer API's counters stay apart"
    );
}

#[tokio::test]
async fn without_a_token_nothing_is_spent() {
    let running = spawn(config(2, 4)).await;
    let response = reqwest::get(format!("{}/api/managed_users", running.base_url()))
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(stats(&running).await["embedded"]["requests"]["customers"], json!(0));
}
