//! `--shard.*`: which of several replicas this one is. The index comes
//! from `--shard.index`, or from the host name a StatefulSet gives its pods
//! (`workato-exporter-2` is index 2): the `HOSTNAME` variable, which
//! Kubernetes sets to the pod's name, else the system's host name.

use crate::error::Error;
use crate::shard::Shard;

/// The shard from the flags: `None` without `--shard.count`. `env` reads
/// `HOSTNAME`; `system_hostname` is asked only when that is unset.
pub fn shard(
    count: Option<u32>,
    index: Option<u32>,
    from_hostname: bool,
    env: &dyn Fn(&str) -> Option<String>,
    system_hostname: &dyn Fn() -> Option<String>,
) -> Result<Option<Shard>, Error> {
    let Some(count) = count else {
        if index.is_some() || from_hostname {
            return Err(Error::Config(
                "--shard.index and --shard.index-from-hostname need --shard.count, the number of replicas".into(),
            ));
        }
        return Ok(None);
    };
    let index = match (index, from_hostname) {
        (Some(index), false) => index,
        (None, true) => {
            let hostname = env("HOSTNAME")
                .filter(|h| !h.trim().is_empty())
                .or_else(system_hostname)
                .ok_or_else(|| {
                    Error::Config(
                        "--shard.index-from-hostname: neither HOSTNAME nor the system gives a host name".into(),
                    )
                })?;
            index_from_hostname(hostname.trim())?
        }
        _ => {
            return Err(Error::Config(
                "--shard.count: give exactly one of --shard.index and --shard.index-from-hostname".into(),
            ));
        }
    };
    if index >= count {
        return Err(Error::Config(format!(
            "--shard.index {index} is out of range: with --shard.count {count} the index is 0 to {}",
            count - 1
        )));
    }
    Ok(Some(Shard { index, count }))
}

/// The trailing `-<digits>` of a StatefulSet pod's name; a fully
/// qualified name counts by its first label.
fn index_from_hostname(hostname: &str) -> Result<u32, Error> {
    let name = hostname.split('.').next().unwrap_or_default();
    name.rsplit_once('-')
        .map(|(_, digits)| digits)
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<u32>().ok())
        .ok_or_else(|| {
            Error::Config(format!(
                "--shard.index-from-hostname: the host name {hostname:?} does not end in -<index> as a StatefulSet's pods do (workato-exporter-2)"
            ))
        })
}

/// The system's host name (`gethostname`).
pub fn system_hostname() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buffer = [0u8; 256];
        // SAFETY: the buffer is valid for its whole length, which is what
        // gethostname is told; it writes at most that many bytes.
        let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
        if status != 0 {
            return None;
        }
        let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
        String::from_utf8(buffer[..end].to_vec()).ok().filter(|h| !h.is_empty())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn hostname(name: &'static str) -> impl Fn(&str) -> Option<String> {
        move |var| (var == "HOSTNAME").then(|| name.to_string())
    }

    #[test]
    fn the_index_is_given_or_read_from_a_statefulset_hostname() {
        let none = || None;
        assert_eq!(shard(None, None, false, &no_env, &none).unwrap(), None);
        assert_eq!(
            shard(Some(3), Some(2), false, &no_env, &none).unwrap(),
            Some(Shard { index: 2, count: 3 })
        );
        let from = |name| shard(Some(3), None, true, &hostname(name), &none);
        assert_eq!(from("workato-exporter-2").unwrap(), Some(Shard { index: 2, count: 3 }));
        assert_eq!(
            from("workato-exporter-0.workato.ns.svc").unwrap(),
            Some(Shard { index: 0, count: 3 })
        );
        let system = || Some("exporter-1".to_string());
        assert_eq!(
            shard(Some(2), None, true, &no_env, &system).unwrap(),
            Some(Shard { index: 1, count: 2 })
        );
    }

    #[test]
    fn bad_shard_flags_say_what_is_wrong() {
        let none = || None;
        let error = |r: Result<Option<Shard>, Error>| r.unwrap_err().to_string();
        let e = error(shard(Some(3), Some(3), false, &no_env, &none));
        assert!(e.contains("0 to 2"), "{e}");
        let e = error(shard(Some(3), None, false, &no_env, &none));
        assert!(e.contains("exactly one"), "{e}");
        let e = error(shard(Some(3), Some(1), true, &no_env, &none));
        assert!(e.contains("exactly one"), "{e}");
        let e = error(shard(None, Some(1), false, &no_env, &none));
        assert!(e.contains("--shard.count"), "{e}");
        for name in ["workato-exporter", "exporter-x", "exporter-", "7"] {
            let e = error(shard(Some(3), None, true, &hostname(name), &none));
            assert!(e.contains(name) && e.contains("-<index>"), "{e}");
        }
        let e = error(shard(Some(3), None, true, &hostname("exporter-5"), &none));
        assert!(e.contains("out of range"), "{e}");
        let e = error(shard(Some(3), None, true, &no_env, &none));
        assert!(e.contains("HOSTNAME"), "{e}");
    }

    #[test]
    fn the_system_has_a_host_name() {
        assert!(system_hostname().is_some_and(|h| !h.is_empty()));
    }
}
