//! One integration binary: wiremock stands in for Workato.

mod admin;
mod alertmanager;
mod binary;
mod client;
mod dashboards;
mod exemplars;
mod exposition;
mod formats;
mod helpers;
mod hostile_clients;
mod hostile_server;
mod http;
mod imports;
mod jobs;
mod metrics;
mod packaging;
mod pki;
mod poller;
mod prometheus;
mod promtool;
mod real_workato;
mod restarts;
mod sim;
mod tls;
mod tls_prometheus;
mod web_config;
