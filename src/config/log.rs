//! What `--log.level` and `--log.format` accept, checked as clap parses
//! them; `logging` sets the logs up from the checked values.

use tracing_subscriber::EnvFilter;

/// The levels `--log.level` takes alone, most severe first.
pub const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// What a bad `--log.level` or `RUST_LOG` is told it may be.
const EXPECTED_FILTER: &str =
    "expected error, warn, info, debug or trace, or a filter such as workato_exporter=debug,info";

/// Checks a `--log.level` or `RUST_LOG` value and returns it normalised.
///
/// `EnvFilter` reads a bare word as a target to log at every level, so a
/// typo such as `loud` or `warning` would silence every line, errors
/// included. Here each comma-separated directive must be a level name, or
/// `TARGET=LEVEL` (spans and fields allowed in `TARGET`, as in tracing's
/// syntax) with a level name after the last `=`; `off` counts as a level.
pub fn parse_filter(text: &str) -> Result<String, String> {
    let is_level = |word: &str| {
        let word = word.trim();
        word.eq_ignore_ascii_case("off") || LEVELS.iter().any(|level| level.eq_ignore_ascii_case(word))
    };
    let directives: Vec<&str> = text.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
    if directives.is_empty() {
        return Err(EXPECTED_FILTER.to_string());
    }
    for directive in &directives {
        let valid = match directive.rsplit_once('=') {
            Some((target, level)) => !target.trim().is_empty() && is_level(level),
            None => is_level(directive),
        };
        if !valid && directives.len() == 1 && !directive.contains('=') {
            return Err(EXPECTED_FILTER.to_string());
        }
        if !valid {
            return Err(format!("no level in {directive:?}; {EXPECTED_FILTER}"));
        }
    }
    let normalised = directives.join(",");
    EnvFilter::try_new(&normalised).map_err(|e| format!("{e}; {EXPECTED_FILTER}"))?;
    Ok(normalised)
}

/// `--log.format`: how each event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// tracing's human-readable lines, coloured on a terminal.
    Text,
    /// `key=value` pairs, the Prometheus ecosystem's format.
    Logfmt,
    /// One flat JSON object a line.
    Json,
}

impl LogFormat {
    const ALL: [(&'static str, LogFormat); 3] = [
        ("logfmt", LogFormat::Logfmt),
        ("json", LogFormat::Json),
        ("text", LogFormat::Text),
    ];

    /// Parses a `--log.format` value.
    pub fn parse(text: &str) -> Result<LogFormat, String> {
        LogFormat::ALL
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text.trim()))
            .map(|(_, format)| *format)
            .ok_or_else(|| {
                let names: Vec<&str> = LogFormat::ALL.iter().map(|(name, _)| *name).collect();
                format!("expected one of {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_levels_and_tracing_filters_are_accepted() {
        for text in LEVELS {
            assert_eq!(parse_filter(text).as_deref(), Ok(text));
        }
        for text in [
            "INFO",
            "off",
            "workato_exporter=debug,info",
            "workato_exporter::poller=trace, warn",
            "hyper=off,workato_exporter[collector{name=recipes}]=debug",
        ] {
            assert!(parse_filter(text).is_ok(), "{text}: {:?}", parse_filter(text));
        }
        assert_eq!(
            parse_filter(" workato_exporter=debug , info ").as_deref(),
            Ok("workato_exporter=debug,info")
        );
    }

    #[test]
    fn a_word_that_is_no_level_is_refused_naming_the_levels() {
        for text in [
            "loud",
            "warning",
            "",
            " , ",
            "workato_exporter",
            "workato_exporter=loud",
            "=debug",
            "3",
            "info,verbose",
        ] {
            let error = parse_filter(text).expect_err(text);
            assert!(error.contains("error, warn, info, debug or trace"), "{text}: {error}");
        }
    }

    #[test]
    fn formats_are_named_and_a_bad_one_lists_them() {
        assert_eq!(LogFormat::parse("logfmt"), Ok(LogFormat::Logfmt));
        assert_eq!(LogFormat::parse("json"), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse("TEXT"), Ok(LogFormat::Text));
        let error = LogFormat::parse("xml").unwrap_err();
        assert!(error.contains("logfmt, json, text"), "{error}");
    }
}
