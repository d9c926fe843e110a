//! S3's legacy signature (HMAC-SHA1) in its presigned query form (`AWSAccessKeyId`,
//! `Expires`, `Signature`), which `aws s3 presign` of aws-cli v1 still produces for
//! us-east-1. Only the query form is accepted; nothing here does I/O.

use base64::Engine;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use crate::sigv4::{AuthError, query_pairs};

/// Query parameters that are part of the signed resource.
const SUBRESOURCES: &[&str] = &[
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// A presigned V2 request's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Query {
    pub access_key_id: String,
    pub expires: i64,
    pub signature: String,
}

/// Whether the query carries a V2 presigned signature.
pub fn is_v2_query(query: &str) -> bool {
    query.contains("AWSAccessKeyId=") && query.contains("Signature=")
}

/// Parses the V2 query parameters.
pub fn parse_query(query: &str) -> Result<V2Query, AuthError> {
    let pairs = query_pairs(query);
    let get = |n: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                AuthError::Incomplete(format!(
                    "Query-string authentication requires the {n} parameter"
                ))
            })
    };
    Ok(V2Query {
        access_key_id: get("AWSAccessKeyId")?,
        expires: get("Expires")?
            .parse()
            .map_err(|_| AuthError::Incomplete("Expires must be a number".into()))?,
        signature: get("Signature")?,
    })
}

/// Checks a V2 presigned request: not expired, and the signature over
/// `method, Content-MD5, Content-Type, Expires, x-amz-* headers, resource` matches.
pub fn verify_query(
    method: &str,
    raw_path: &str,
    query: &str,
    headers: &[(&str, &str)],
    q: &V2Query,
    secret: &str,
    now: i64,
) -> Result<(), AuthError> {
    if now > q.expires {
        return Err(AuthError::Expired("Request has expired".into()));
    }
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    };
    let mut amz: Vec<(String, &str)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim()))
        .filter(|(k, _)| k.starts_with("x-amz-"))
        .collect();
    amz.sort();
    let mut sts = format!(
        "{method}\n{}\n{}\n{}\n",
        header("content-md5"),
        header("content-type"),
        q.expires
    );
    for (k, v) in amz {
        sts.push_str(&format!("{k}:{v}\n"));
    }
    sts.push_str(raw_path);
    let mut subs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| SUBRESOURCES.contains(&k.as_str()))
        .collect();
    subs.sort();
    for (i, (k, v)) in subs.iter().enumerate() {
        sts.push(if i == 0 { '?' } else { '&' });
        sts.push_str(k);
        if !v.is_empty() {
            sts.push('=');
            sts.push_str(v);
        }
    }
    let mut mac =
        <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(sts.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if bool::from(expected.as_bytes().ct_eq(q.signature.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example() {
        // The query-string example of the S3 developer guide (legacy signature).
        let q = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D";
        let v = parse_query(q).unwrap();
        let headers = [("Host", "johnsmith.s3.amazonaws.com")];
        verify_query(
            "GET",
            "/johnsmith/photos/puppy.jpg",
            q,
            &headers,
            &v,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            1175139000,
        )
        .unwrap();
        assert_eq!(
            verify_query(
                "GET",
                "/johnsmith/photos/puppy.jpg",
                q,
                &headers,
                &v,
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                1175139621
            ),
            Err(AuthError::Expired("Request has expired".into()))
        );
        assert_eq!(
            verify_query(
                "GET",
                "/johnsmith/photos/kitten.jpg",
                q,
                &headers,
                &v,
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                1175139000
            ),
            Err(AuthError::BadSignature)
        );
    }
}
