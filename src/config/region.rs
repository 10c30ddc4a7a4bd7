//! Workato's data centers and the host root of each (WORKATO_API.md).

use reqwest::Url;

/// Workato's data centers (WORKATO_API.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Us,
    Eu,
    Jp,
    Sg,
    Au,
    Il,
    Kr,
    Cn,
    Trial,
}

impl Region {
    pub(super) const ALL: [(&'static str, Region, &'static str); 9] = [
        ("us", Region::Us, "https://www.workato.com"),
        ("eu", Region::Eu, "https://app.eu.workato.com"),
        ("jp", Region::Jp, "https://app.jp.workato.com"),
        ("sg", Region::Sg, "https://app.sg.workato.com"),
        ("au", Region::Au, "https://app.au.workato.com"),
        ("il", Region::Il, "https://app.il.workato.com"),
        ("kr", Region::Kr, "https://app.kr.workato.com"),
        ("cn", Region::Cn, "https://app.workatoapp.cn"),
        ("trial", Region::Trial, "https://app.trial.workato.com"),
    ];

    /// The host root of this data center.
    pub fn base_url(self) -> Url {
        let (_, _, url) = Self::ALL
            .iter()
            .find(|(_, region, _)| *region == self)
            .expect("every region is in the table");
        Url::parse(url).expect("region URLs are valid")
    }
}

pub(super) fn parse_region(text: &str) -> Result<Region, String> {
    Region::ALL
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(text.trim()))
        .map(|(_, region, _)| *region)
        .ok_or_else(|| {
            let names: Vec<&str> = Region::ALL.iter().map(|(name, _, _)| *name).collect();
            format!("expected one of {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_has_its_documented_host() {
        assert_eq!(Region::Us.base_url().as_str(), "https://www.workato.com/");
        assert_eq!(parse_region("EU"), Ok(Region::Eu));
        assert_eq!(
            parse_region("cn").map(Region::base_url).ok().map(String::from),
            Some("https://app.workatoapp.cn/".into())
        );
        assert_eq!(Region::ALL.len(), 9);
        let error = parse_region("mars").unwrap_err();
        assert!(error.contains("us, eu, jp, sg, au, il, kr, cn, trial"), "{error}");
    }
}
