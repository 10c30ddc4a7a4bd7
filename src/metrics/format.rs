//! The three expositions `/metrics` speaks, and the choice among them from
//! a request's `Accept` header, as Prometheus sends it (with `q` weights).

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text 0.0.4: the default.
    Text,
    /// OpenMetrics text 1.0.0: `_total` under the family name, `# UNIT`,
    /// `_created`, exemplars, `# EOF`.
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` messages:
    /// exemplars and native histograms.
    Protobuf,
}

/// How well a media range matches: `q`, exact rather than wildcard, then
/// earlier in the header; greater wins.
type Rank = (f32, bool, std::cmp::Reverse<usize>);

impl Format {
    pub const ALL: [Format; 3] = [Format::Text, Format::OpenMetrics, Format::Protobuf];

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Protobuf => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
        }
    }

    /// The format an `Accept` header asks for: the highest `q` among the
    /// media ranges this exporter can serve, an exact type before a
    /// wildcard at equal `q`, then the client's order; text when the header
    /// is absent, names nothing we serve, or gives everything `q=0`.
    /// OpenMetrics `version=0.0.1` (Prometheus asks for it second) is served
    /// as 1.0.0, whose text it reads alike.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else { return Format::Text };
        let mut best: Option<(Rank, Format)> = None;
        // A header is bounded by the HTTP server's limits; ranges past the
        // 64th are not looked at.
        for (position, range) in accept.split(',').take(64).enumerate() {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut version = None;
            let mut proto = None;
            let mut encoding = None;
            for param in parts {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => {
                        q = value
                            .parse::<f32>()
                            .ok()
                            .filter(|q| (0.0..=1.0).contains(q))
                            .unwrap_or(0.0)
                    }
                    "version" => version = Some(value),
                    "proto" => proto = Some(value),
                    "encoding" => encoding = Some(value),
                    _ => {}
                }
            }
            let candidates: &[(Format, bool)] = match media.as_str() {
                "text/plain" if version.is_none_or(|v| v == "0.0.4") => &[(Format::Text, true)],
                "application/openmetrics-text" if version.is_none_or(|v| v == "1.0.0" || v == "0.0.1") => {
                    &[(Format::OpenMetrics, true)]
                }
                "application/vnd.google.protobuf"
                    if proto.is_none_or(|p| p == "io.prometheus.client.MetricFamily")
                        && encoding.is_none_or(|e| e == "delimited") =>
                {
                    &[(Format::Protobuf, true)]
                }
                "*/*" | "text/*" => &[(Format::Text, false)],
                _ => &[],
            };
            for (format, specific) in candidates {
                let key = (q, *specific, std::cmp::Reverse(position));
                if q > 0.0 && best.as_ref().is_none_or(|(k, _)| key > *k) {
                    best = Some((key, *format));
                }
            }
        }
        best.map_or(Format::Text, |(_, format)| format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus 2.42's Accept headers, without and with native histograms.
    const PROMETHEUS: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    const PROMETHEUS_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn prometheus_gets_what_it_prefers() {
        assert_eq!(Format::negotiate(Some(PROMETHEUS)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(Some(PROMETHEUS_NATIVE)), Format::Protobuf);
    }

    #[test]
    fn weights_decide_then_exact_types_then_the_clients_order() {
        let cases = [
            (None, Format::Text),
            (Some(""), Format::Text),
            (Some("*/*"), Format::Text),
            (Some("text/html"), Format::Text),
            (Some("application/openmetrics-text"), Format::OpenMetrics),
            (
                Some("text/plain;q=0.3, application/openmetrics-text;q=0.2"),
                Format::Text,
            ),
            (
                Some("TEXT/PLAIN;q=0.1, Application/OpenMetrics-Text; version=1.0.0; q=0.9"),
                Format::OpenMetrics,
            ),
            (Some("application/openmetrics-text;version=2.0.0"), Format::Text),
            (
                Some("application/vnd.google.protobuf;proto=other.Message"),
                Format::Text,
            ),
            (Some("application/vnd.google.protobuf;encoding=text"), Format::Text),
            (Some("application/openmetrics-text;q=0, */*;q=0.1"), Format::Text),
            (
                Some("application/openmetrics-text;q=0.5, */*;q=0.5"),
                Format::OpenMetrics,
            ),
            (
                Some("application/openmetrics-text;q=0.5, application/vnd.google.protobuf;q=0.5"),
                Format::OpenMetrics,
            ),
            (Some("application/openmetrics-text;q=nonsense"), Format::Text),
            (Some("application/openmetrics-text;q=7"), Format::Text),
        ];
        for (accept, expected) in cases {
            assert_eq!(Format::negotiate(accept), expected, "{accept:?}");
        }
    }
}
