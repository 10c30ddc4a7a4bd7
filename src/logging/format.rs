//! The two machine-readable log formats, one event a line, keys in the
//! same order: `ts`, `level`, `msg`, the event's own fields, then `module`
//! (the tracing target, the name `--log.level` filters on).
//!
//! - logfmt, as the Prometheus ecosystem writes it:
//!   `ts=2026-11-27T19:01:09.529Z level=info msg="serving /metrics" address=0.0.0.0:9862 module=workato_exporter`
//! - JSON, flat, as log pipelines expect it:
//!   `{"ts":"2026-11-27T19:01:09.529Z","level":"info","msg":"serving /metrics","address":"0.0.0.0:9862","module":"workato_exporter"}`
//!
//! Neither ever holds a terminal escape: control characters in values are
//! escaped. tracing-subscriber's own JSON nests the fields under `"fields"`
//! and names the keys `timestamp` and `message`; the logfmt crates name them
//! `message` and `target` and bring a date crate. Two small encoders over
//! one visitor are less than either.

use std::fmt::{self, Write as _};

use chrono::{DateTime, SecondsFormat, Utc};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Keys the encoders write themselves; a field of the same name is
/// written as `field_<name>` so that no key appears twice.
const RESERVED: [&str; 4] = ["ts", "level", "msg", "module"];

/// A field's value, typed as tracing recorded it.
enum Value {
    Str(String),
    /// A number or a boolean, written bare in both formats.
    Bare(String),
}

/// The message and the fields of one event, in the order recorded.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, Value)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::Str(text) | Value::Bare(text) => text,
            };
        } else {
            self.fields.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Str(value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::Bare(value.to_string()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::Bare(value.to_string()));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = if value.is_finite() {
            Value::Bare(value.to_string())
        } else {
            Value::Str(value.to_string())
        };
        self.push(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bare(value.to_string()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, Value::Str(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::Str(format!("{value:?}")));
    }
}

/// Which of the two encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Logfmt,
    Json,
}

/// Formats events as logfmt or flat JSON lines.
pub struct Structured {
    encoding: Encoding,
    /// The time stamped on each line; tests fix it.
    now: fn() -> DateTime<Utc>,
}

impl Structured {
    pub fn new(encoding: Encoding) -> Structured {
        Structured {
            encoding,
            now: Utc::now,
        }
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

impl<S, N> FormatEvent<S, N> for Structured
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut recorded = Fields::default();
        event.record(&mut recorded);
        let metadata = event.metadata();
        let line = self.line(metadata.level(), recorded, metadata.target());
        writer.write_str(&line)
    }
}

impl Structured {
    /// The line the process exits with, as an error event of the crate.
    pub fn error_line(&self, message: &str) -> String {
        let recorded = Fields {
            message: message.to_string(),
            fields: Vec::new(),
        };
        self.line(&Level::ERROR, recorded, env!("CARGO_CRATE_NAME"))
    }

    fn line(&self, level: &Level, recorded: Fields, module: &str) -> String {
        let ts = (self.now)().to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut pairs = vec![
            ("ts".to_string(), Value::Str(ts)),
            ("level".to_string(), Value::Str(level_name(level).to_string())),
            ("msg".to_string(), Value::Str(recorded.message)),
        ];
        for (name, value) in recorded.fields {
            let key = if RESERVED.contains(&name) {
                format!("field_{name}")
            } else {
                name.to_string()
            };
            pairs.push((key, value));
        }
        pairs.push(("module".to_string(), Value::Str(module.to_string())));
        let mut line = match self.encoding {
            Encoding::Logfmt => logfmt(&pairs),
            Encoding::Json => json(&pairs),
        };
        line.push('\n');
        line
    }
}

fn logfmt(pairs: &[(String, Value)]) -> String {
    let mut line = String::new();
    for (key, value) in pairs {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(key);
        line.push('=');
        match value {
            Value::Bare(text) => line.push_str(text),
            Value::Str(text) => logfmt_value(&mut line, text),
        }
    }
    line
}

/// A logfmt value, quoted when it is empty or holds a space, `=`, `"` or a
/// control character, with Go's escapes.
fn logfmt_value(line: &mut String, text: &str) {
    let quote = text.is_empty() || text.chars().any(|c| c <= ' ' || c == '=' || c == '"' || c.is_control());
    if !quote {
        line.push_str(text);
        return;
    }
    line.push('"');
    for c in text.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(line, "\\u{:04x}", u32::from(c));
            }
            c => line.push(c),
        }
    }
    line.push('"');
}

fn json(pairs: &[(String, Value)]) -> String {
    let mut line = String::from("{");
    for (key, value) in pairs {
        if line.len() > 1 {
            line.push(',');
        }
        line.push_str(&serde_json::Value::from(key.as_str()).to_string());
        line.push(':');
        match value {
            Value::Bare(text) => line.push_str(text),
            Value::Str(text) => line.push_str(&serde_json::Value::from(text.as_str()).to_string()),
        }
    }
    line.push('}');
    line
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn fixed_now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T19:01:09.529Z").unwrap().into()
    }

    /// What `log` prints in `encoding`.
    fn printed(encoding: Encoding, log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .event_format(Structured {
                encoding,
                now: fixed_now,
            })
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    fn admin_line() {
        let error = std::io::Error::other("refused \u{1b}[31mred\u{1b}[0m");
        tracing::warn!(
            target: "workato_exporter::admin",
            action = "stop",
            target = "1913514",
            code = 200u16,
            ok = true,
            ratio = 0.25,
            %error,
            "admin request"
        );
    }

    #[test]
    fn logfmt_writes_ts_level_msg_then_the_fields() {
        assert_eq!(
            printed(Encoding::Logfmt, admin_line),
            "ts=2026-11-27T19:01:09.529Z level=warn msg=\"admin request\" action=stop target=1913514 \
             code=200 ok=true ratio=0.25 error=\"refused \\u001b[31mred\\u001b[0m\" module=workato_exporter::admin\n"
        );
    }

    #[test]
    fn json_is_one_flat_object_a_line() {
        let line = printed(Encoding::Json, admin_line);
        assert!(line.starts_with(r#"{"ts":"2026-11-27T19:01:09.529Z","level":"warn","msg":"admin request","#));
        assert_eq!(line.matches('\n').count(), 1);
        let object: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(object["target"], "1913514");
        assert_eq!(object["code"], 200);
        assert_eq!(object["ok"], true);
        assert_eq!(object["ratio"], 0.25);
        assert_eq!(object["module"], "workato_exporter::admin");
        assert!(object.get("fields").is_none());
        assert!(!line.contains('\u{1b}'), "{line}");
    }

    #[test]
    fn the_exit_error_is_a_line_of_the_same_shape() {
        let logfmt = Structured {
            encoding: Encoding::Logfmt,
            now: fixed_now,
        };
        assert_eq!(
            logfmt.error_line("cannot listen on 127.0.0.1:9862: Address already in use"),
            "ts=2026-11-27T19:01:09.529Z level=error msg=\"cannot listen on 127.0.0.1:9862: Address already in use\" \
             module=workato_exporter\n"
        );
        let json = Structured {
            encoding: Encoding::Json,
            now: fixed_now,
        };
        let object: serde_json::Value = serde_json::from_str(&json.error_line("no token")).unwrap();
        assert_eq!(
            (&object["level"], &object["msg"]),
            (&"error".into(), &"no token".into())
        );
    }

    #[test]
    fn values_are_quoted_and_escaped_only_when_needed_and_reserved_keys_stay_unique() {
        let line = printed(Encoding::Logfmt, || {
            tracing::info!(
                empty = "",
                quote = "say \"hi\"",
                eq = "a=b",
                line = "one\ntwo",
                msg = "x",
                ""
            )
        });
        assert!(
            line.contains(r#"msg="" empty="" quote="say \"hi\"" eq="a=b" line="one\ntwo" field_msg=x"#),
            "{line}"
        );
        let line = printed(Encoding::Json, || tracing::info!(level = 3, nan = f64::NAN, "m"));
        let object: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(object["level"], "info");
        assert_eq!(object["field_level"], 3);
        assert_eq!(object["nan"], "NaN");
    }
}
