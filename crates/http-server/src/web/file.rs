//! The web configuration file as written: the Prometheus exporter
//! toolkit's YAML format (`--web.config.file`), same field names and
//! meanings. Unknown keys are refused with their name and line; values are
//! checked later, when the file is turned into TLS and auth settings.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file. Every part is optional: an empty file is valid and
/// changes nothing.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub tls_server_config: Option<TlsFile>,
    #[serde(default)]
    pub http_server_config: Option<HttpFile>,
    #[serde(default)]
    pub basic_auth_users: Option<BTreeMap<String, String>>,
    /// Known to the toolkit; refused here by name, never ignored.
    #[serde(default)]
    pub rate_limit: Option<yaml_serde::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub client_ca: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub client_auth_type: Option<String>,
    pub client_ca_file: Option<String>,
    pub client_allowed_sans: Option<Vec<String>>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    pub cipher_suites: Option<Vec<String>>,
    pub prefer_server_cipher_suites: Option<bool>,
    pub curve_preferences: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HttpFile {
    pub http2: Option<bool>,
    pub headers: Option<BTreeMap<String, String>>,
}

/// Parses the text; the error names the key and line, with any quoted
/// value taken out, since a mistyped field may hold a key or a hash.
pub fn parse(text: &str) -> Result<File, String> {
    if text.trim().is_empty() {
        return Ok(File::default());
    }
    yaml_serde::from_str::<Option<File>>(text)
        .map(Option::unwrap_or_default)
        .map_err(|e| redact(&with_line(&e.to_string(), text)))
}

/// An unknown top-level key comes without a position: add the line where
/// it stands.
fn with_line(message: &str, text: &str) -> String {
    if message.contains(" line ") {
        return message.to_string();
    }
    let key = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(key, _)| key);
    let line = key.and_then(|key| {
        text.lines().position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
    });
    match line {
        Some(index) => format!("{message} at line {}", index + 1),
        None => message.to_string(),
    }
}

/// Replaces every double-quoted part of a message with `"…"`.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…\"");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let error = parse("tls_server_config:\n  cert_file: a\n  certfile: b\n")
            .err()
            .expect("refused");
        assert!(error.contains("certfile") && error.contains("line 3"), "{error}");
        let error = parse("basic_auth_user:\n  a: b\n").err().expect("refused");
        assert!(error.contains("basic_auth_user") && error.contains("line 1"), "{error}");
    }

    #[test]
    fn values_never_reach_the_error() {
        let error = parse("tls_server_config: \"-----BEGIN PRIVATE KEY----- sekrit\"\n")
            .err()
            .expect("refused");
        assert!(!error.contains("sekrit"), "{error}");
        assert_eq!(redact("a \"b\" c \"d\""), "a \"…\" c \"…\"");
    }

    #[test]
    fn an_empty_file_is_valid() {
        assert!(parse("").unwrap().tls_server_config.is_none());
        assert!(parse("# nothing\n").unwrap().basic_auth_users.is_none());
    }
}
