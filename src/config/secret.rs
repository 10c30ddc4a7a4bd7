//! Reading a secret the one way the exporter does, from a file (which
//! wins) or an environment variable: trimmed, not empty, no whitespace.

use std::path::Path;

use crate::error::Error;

/// A secret from a file (which wins) or the value of an environment
/// variable; `None` when neither is set. `flag` and `env_name` name the
/// sources in errors, which never hold the secret. The file must not be
/// empty and the secret must not hold whitespace.
pub fn read_secret(
    file: Option<&Path>,
    flag: &str,
    env: Option<String>,
    env_name: &str,
) -> Result<Option<String>, Error> {
    let (secret, source) = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("{flag}: cannot read {}: {e}", path.display())))?;
            let secret = text.trim().to_string();
            if secret.is_empty() {
                return Err(Error::Config(format!(
                    "{flag}: {} is empty; it must hold the token",
                    path.display()
                )));
            }
            (secret, flag)
        }
        None => match env.map(|t| t.trim().to_string()) {
            Some(secret) if !secret.is_empty() => (secret, env_name),
            _ => return Ok(None),
        },
    };
    if secret.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::Config(format!(
            "the token from {source} contains whitespace or control characters"
        )));
    }
    Ok(Some(secret))
}
