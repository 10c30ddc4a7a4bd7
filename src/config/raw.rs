//! The configuration file as the YAML parser reads it: every key optional
//! (`defaults` and entries share one shape), unknown keys refused, each
//! value checked by the parser of the matching flag and its error naming
//! the key. `file` merges and validates what this reads.

use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::cli::{parse_base_url, parse_budget, parse_interval, parse_window};
use super::region::{Region, parse_region};
use super::workspace::{CustomerRef, Customers};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    #[serde(default)]
    pub defaults: Option<RawEntry>,
    #[serde(default)]
    pub workspaces: Vec<Spanned<RawEntry>>,
    #[serde(default)]
    pub embedded: Vec<Spanned<RawEntry>>,
}

/// A workspace, an Embedded entry or the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntry {
    pub name: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "region")]
    pub region: Option<Spanned<Region>>,
    #[serde(default, deserialize_with = "base_url")]
    pub base_url: Option<Spanned<Url>>,
    pub token_file: Option<PathBuf>,
    pub token_env: Option<String>,
    pub email: Option<String>,
    #[serde(default, deserialize_with = "requests_per_minute")]
    pub requests_per_minute: Option<NonZeroU32>,
    #[serde(default, deserialize_with = "poll_interval")]
    pub poll_interval: Option<Duration>,
    #[serde(default, deserialize_with = "workspace_interval")]
    pub workspace_interval: Option<Duration>,
    #[serde(default, deserialize_with = "jobs_interval")]
    pub jobs_interval: Option<Duration>,
    #[serde(default, deserialize_with = "jobs_window")]
    pub jobs_window: Option<Duration>,
    #[serde(default, deserialize_with = "jobs_max_error_types")]
    pub jobs_max_error_types: Option<usize>,
    pub customers: Option<Spanned<Customers>>,
}

/// A scalar's text, whether YAML typed it as a string or a number.
struct Text;

impl Visitor<'_> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// The value of `key` parsed by `parse`, its error naming the key.
fn with<'de, D, T>(d: D, key: &str, parse: fn(&str) -> Result<T, String>) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    let text = d
        .deserialize_any(Text)
        .map_err(|e| de::Error::custom(format!("{key}: {e}")))?;
    parse(&text)
        .map(Some)
        .map_err(|e| de::Error::custom(format!("{key}: {e}")))
}

fn region<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Spanned<Region>>, D::Error> {
    Ok(Option::<Spanned<RegionValue>>::deserialize(d)?.map(|s| Spanned {
        value: s.value.0,
        referenced: s.referenced,
        defined: s.defined,
    }))
}

fn base_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Spanned<Url>>, D::Error> {
    Ok(Option::<Spanned<UrlValue>>::deserialize(d)?.map(|s| Spanned {
        value: s.value.0,
        referenced: s.referenced,
        defined: s.defined,
    }))
}

/// `region`, as `--workato.region` reads it.
struct RegionValue(Region);

impl<'de> Deserialize<'de> for RegionValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(RegionValue(with(d, "region", parse_region)?.unwrap_or(Region::Us)))
    }
}

/// `base_url`, as `--workato.base-url` reads it.
struct UrlValue(Url);

impl<'de> Deserialize<'de> for UrlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        with(d, "base_url", parse_base_url)?
            .map(UrlValue)
            .ok_or_else(|| de::Error::custom("base_url: expected a URL"))
    }
}

fn requests_per_minute<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NonZeroU32>, D::Error> {
    with(d, "requests_per_minute", parse_budget)
}

fn poll_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    with(d, "poll_interval", parse_interval)
}

fn workspace_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    with(d, "workspace_interval", parse_interval)
}

fn jobs_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    with(d, "jobs_interval", parse_interval)
}

fn jobs_window<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    with(d, "jobs_window", parse_window)
}

fn jobs_max_error_types<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    with(d, "jobs_max_error_types", |text| {
        text.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| "expected a whole number from 1 to 1000".to_string())
    })
}

/// What `customers` accepts, said in every error about it.
const CUSTOMERS: &str = "customers: expected all, or a list of managed user ids (integers) and external ids (strings)";

impl<'de> Deserialize<'de> for Customers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Customers;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(CUSTOMERS)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Customers, E> {
                match v.trim() {
                    "all" => Ok(Customers::All),
                    _ => Err(E::custom(CUSTOMERS)),
                }
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Customers, A::Error> {
                let mut refs = Vec::new();
                while let Some(customer) = seq.next_element::<CustomerRef>()? {
                    if refs.contains(&customer) {
                        return Err(de::Error::custom(format!("customers: {customer} is listed twice")));
                    }
                    refs.push(customer);
                }
                if refs.is_empty() {
                    return Err(de::Error::custom(
                        "customers: an empty list watches no customer; write all, or name some",
                    ));
                }
                Ok(Customers::Only(refs))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for CustomerRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CustomerRef;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(CUSTOMERS)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CustomerRef, E> {
                Ok(CustomerRef::Id(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CustomerRef, E> {
                u64::try_from(v)
                    .map(CustomerRef::Id)
                    .map_err(|_| E::custom("customers: a managed user id is a positive integer"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<CustomerRef, E> {
                let v = v.trim();
                if v.is_empty() || v.chars().any(char::is_control) {
                    return Err(E::custom("customers: an external id is a non-empty string"));
                }
                Ok(CustomerRef::External(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}
