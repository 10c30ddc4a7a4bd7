//! Workato's limits on account properties (WORKATO_API.md), checked by the
//! exporter's admin route before it upserts and by the simulator when it
//! answers.

use serde_json::Value;

/// Workato's limits on account properties (WORKATO_API.md).
pub const MAX_PROPERTIES: usize = 1_000;
pub const MAX_NAME: usize = 100;
pub const MAX_VALUE: usize = 1_024;

/// Checks one property against Workato's limits: a name of 1 to 100
/// characters, a string value of at most 1,024.
pub fn check_property(name: &str, value: &Value) -> std::result::Result<(), String> {
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME {
        return Err(format!(
            "property name {name:?} must be 1 to {MAX_NAME} characters, not {length}"
        ));
    }
    let Value::String(text) = value else {
        return Err(format!("property {name:?} must be a string, not {value}"));
    };
    let length = text.chars().count();
    if length > MAX_VALUE {
        return Err(format!(
            "the value of {name:?} is {length} characters; at most {MAX_VALUE}"
        ));
    }
    Ok(())
}
