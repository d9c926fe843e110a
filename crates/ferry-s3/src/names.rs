//! Where a request points: bucket and key from virtual-hosted or path-style addressing, and
//! S3's rules for bucket names and keys.

use crate::error::S3Error;

/// The longest key S3 accepts, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Bucket and key of a request. `base_hosts` are the host names whose subdomains are buckets.
pub fn address(
    host: Option<&str>,
    raw_path: &str,
    base_hosts: &[String],
) -> Result<(Option<String>, Option<String>), S3Error> {
    let host = host.map(strip_port).unwrap_or("").to_ascii_lowercase();
    let virtual_bucket = base_hosts.iter().find_map(|base| {
        host.strip_suffix(base.as_str())
            .and_then(|h| h.strip_suffix('.'))
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
    });
    let path = raw_path.strip_prefix('/').unwrap_or(raw_path);
    let (bucket, raw_key) = match virtual_bucket {
        Some(b) => (Some(b), path),
        None => match path.split_once('/') {
            Some((b, k)) => (Some(decode(b)?), k),
            None if path.is_empty() => (None, ""),
            None => (Some(decode(path)?), ""),
        },
    };
    let key = if raw_key.is_empty() {
        None
    } else {
        let k = decode(raw_key)?;
        if k.len() > MAX_KEY_BYTES {
            return Err(S3Error::new("KeyTooLongError", 400, "Your key is too long"));
        }
        Some(k)
    };
    Ok((bucket, key))
}

/// Percent-decodes a path piece (`+` stays a plus, as S3 reads paths).
pub fn decode(s: &str) -> Result<String, S3Error> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| S3Error::new("InvalidURI", 400, "Couldn't parse the specified URI."))
}

fn strip_port(host: &str) -> &str {
    host.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

/// Checks a name for a new bucket against S3's rules.
pub fn check_bucket_name(name: &str) -> Result<(), S3Error> {
    let bytes = name.as_bytes();
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let looks_like_ip = name.split('.').count() == 4
        && name
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let ok = (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge_ok(bytes[0])
        && edge_ok(bytes[bytes.len() - 1])
        && !name.contains("..")
        && !name.contains(".-")
        && !name.contains("-.")
        && !looks_like_ip
        && !name.starts_with("xn--")
        && !name.starts_with("sthree-")
        && !name.ends_with("-s3alias")
        && !name.ends_with("--ol-s3");
    if ok {
        Ok(())
    } else {
        Err(S3Error::new(
            "InvalidBucketName",
            400,
            "The specified bucket is not valid.",
        )
        .with("BucketName", name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_virtual_host_addressing() {
        let bases = vec!["localhost".to_owned()];
        assert_eq!(
            address(Some("127.0.0.1:4590"), "/", &bases).unwrap(),
            (None, None)
        );
        assert_eq!(
            address(Some("127.0.0.1:4590"), "/b1/a/b%20c+d/%2E%2E/x", &bases).unwrap(),
            (Some("b1".into()), Some("a/b c+d/../x".into()))
        );
        assert_eq!(
            address(Some("127.0.0.1"), "/b1/", &bases).unwrap(),
            (Some("b1".into()), None)
        );
        assert_eq!(
            address(Some("my.bucket.localhost:4590"), "/k/", &bases).unwrap(),
            (Some("my.bucket".into()), Some("k/".into()))
        );
        assert_eq!(
            address(Some("localhost:4590"), "/b", &bases).unwrap(),
            (Some("b".into()), None)
        );
        let long = format!("/b/{}", "k".repeat(1025));
        assert_eq!(
            address(None, &long, &bases).unwrap_err().code,
            "KeyTooLongError"
        );
        assert_eq!(
            address(None, "/b/%FF", &bases).unwrap_err().code,
            "InvalidURI"
        );
    }

    #[test]
    fn bucket_name_rules() {
        for good in ["abc", "my-bucket.v2", "a".repeat(63).as_str(), "1ab"] {
            assert!(check_bucket_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Abc",
            "-abc",
            "abc-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "a_b",
            "xn--abc",
            "a/b",
            &"a".repeat(64),
            "../x",
        ] {
            assert_eq!(
                check_bucket_name(bad).unwrap_err().code,
                "InvalidBucketName",
                "{bad}"
            );
        }
    }
}
