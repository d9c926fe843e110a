//! Signature Version 4 verification: the `Authorization` header form, the presigned query
//! form, and the SigV4-derived git password that `aws codecommit credential-helper` and
//! git-remote-codecommit produce. The server recomputes the signature from the raw request
//! with the stored secret and compares in constant time; nothing here does I/O.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AwsError;

type HmacSha256 = Hmac<Sha256>;

/// How far a request's `X-Amz-Date` may be from the server's clock.
pub const MAX_SKEW_SECS: i64 = 15 * 60;
/// The longest validity a presigned URL may ask for (7 days).
pub const MAX_PRESIGN_EXPIRES: i64 = 7 * 24 * 3600;
/// SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Why a request's signature was refused. Each maps to the code AWS answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    BadSignature,
    #[error("{0}")]
    Expired(String),
    #[error("{0}")]
    WrongScope(String),
    #[error("The security token included in the request is expired")]
    ExpiredToken,
}

impl From<AuthError> for AwsError {
    fn from(e: AuthError) -> Self {
        let msg = e.to_string();
        match e {
            AuthError::Missing => {
                AwsError::new("MissingAuthenticationTokenException", msg).with_status(403)
            }
            AuthError::Incomplete(_) => AwsError::new("IncompleteSignatureException", msg),
            AuthError::UnknownKey => AwsError::new("UnrecognizedClientException", msg),
            AuthError::ExpiredToken => AwsError::new("ExpiredTokenException", msg),
            AuthError::BadSignature | AuthError::Expired(_) | AuthError::WrongScope(_) => {
                AwsError::new("InvalidSignatureException", msg)
            }
        }
    }
}

/// The request as received, in the pieces SigV4 reads.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path exactly as sent (still percent-encoded).
    pub path: &'a str,
    /// The raw query string without `?`.
    pub query: &'a str,
    /// Every header as received; names in any case.
    pub headers: &'a [(&'a str, &'a str)],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// The signature a request carries, parsed but not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    /// `yyyymmdd` from the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lower-case names, in the order given.
    pub signed_headers: Vec<String>,
    /// 64 lower-case hex digits.
    pub signature: String,
    /// `yyyymmddTHHMMSSZ`.
    pub amz_date: String,
    pub session_token: Option<String>,
    /// `Some(seconds)` for the presigned query form.
    pub presigned_expires: Option<i64>,
}

/// Finds and parses the signature of a request (header form first, then query form).
pub fn parse(req: &Request<'_>) -> Result<Credential, AuthError> {
    if let Some(auth) = req.header("authorization") {
        return parse_header(req, auth);
    }
    if req.query.contains("X-Amz-Signature=") || req.query.contains("X-Amz-Credential=") {
        return parse_query(req);
    }
    Err(AuthError::Missing)
}

fn parse_header(req: &Request<'_>, auth: &str) -> Result<Credential, AuthError> {
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(|| {
        AuthError::Incomplete(
            "Authorization header requires the AWS4-HMAC-SHA256 algorithm.".into(),
        )
    })?;
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some((k, v)) = part.split_once('=') {
            match k.trim() {
                "Credential" => cred = Some(v.trim()),
                "SignedHeaders" => signed = Some(v.trim()),
                "Signature" => sig = Some(v.trim()),
                _ => {}
            }
        }
    }
    let missing = |what: &str| {
        AuthError::Incomplete(format!(
            "Authorization header requires '{what}' parameter. Authorization={auth}"
        ))
    };
    let cred = cred.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let sig = sig.ok_or_else(|| missing("Signature"))?;
    let amz_date = req
        .header("x-amz-date")
        .ok_or_else(|| {
            AuthError::Incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into(),
            )
        })?
        .to_owned();
    build(
        cred,
        signed,
        sig,
        amz_date,
        req.header("x-amz-security-token").map(str::to_owned),
        None,
    )
}

fn parse_query(req: &Request<'_>) -> Result<Credential, AuthError> {
    let params = query_pairs(req.query);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                AuthError::Incomplete(format!(
                    "Query-string authentication requires the {name} parameter."
                ))
            })
    };
    if get("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err(AuthError::Incomplete(
            "Query-string authentication requires the AWS4-HMAC-SHA256 algorithm.".into(),
        ));
    }
    let expires: i64 = get("X-Amz-Expires")?
        .parse()
        .ok()
        .filter(|e| (0..=MAX_PRESIGN_EXPIRES).contains(e))
        .ok_or_else(|| {
            AuthError::Incomplete("X-Amz-Expires must be between 0 and 604800 seconds.".into())
        })?;
    let token = params
        .iter()
        .find(|(k, _)| k == "X-Amz-Security-Token")
        .map(|(_, v)| v.clone());
    build(
        &get("X-Amz-Credential")?,
        &get("X-Amz-SignedHeaders")?,
        &get("X-Amz-Signature")?,
        get("X-Amz-Date")?,
        token,
        Some(expires),
    )
}

fn build(
    cred: &str,
    signed: &str,
    sig: &str,
    amz_date: String,
    session_token: Option<String>,
    presigned_expires: Option<i64>,
) -> Result<Credential, AuthError> {
    let parts: Vec<&str> = cred.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || parts[0].is_empty() {
        return Err(AuthError::Incomplete(format!(
            "Credential should be of the form <key>/<date>/<region>/<service>/aws4_request; got '{cred}'."
        )));
    }
    let signature = sig.to_ascii_lowercase();
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::BadSignature);
    }
    let signed_headers: Vec<String> = signed
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(AuthError::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    Ok(Credential {
        access_key_id: parts[0].to_owned(),
        date: parts[1].to_owned(),
        region: parts[2].to_owned(),
        service: parts[3].to_owned(),
        signed_headers,
        signature,
        amz_date,
        session_token,
        presigned_expires,
    })
}

/// What the payload-hash line of the canonical request holds.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// The whole body is at hand: its SHA-256 is computed (and must equal any
    /// `x-amz-content-sha256` the client sent, unless that is a special marker).
    Bytes(&'a [u8]),
    /// The body is streamed: trust the `x-amz-content-sha256` header as the payload hash
    /// (the caller checks the body against it while streaming).
    Declared,
}

/// Options that differ between services.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The service names this endpoint accepts in the credential scope.
    pub services: &'a [&'a str],
    /// Whether the canonical URI encodes the path a second time (every service but S3).
    pub double_encode_path: bool,
    /// The server's clock, epoch seconds.
    pub now: i64,
}

/// Checks a parsed credential against the request and the secret of its access key.
pub fn verify(
    req: &Request<'_>,
    cred: &Credential,
    secret: &str,
    payload: Payload<'_>,
    opts: &Options<'_>,
) -> Result<(), AuthError> {
    if !opts.services.iter().any(|s| *s == cred.service) {
        return Err(AuthError::WrongScope(format!(
            "Credential should be scoped to correct service: '{}'.",
            opts.services.first().copied().unwrap_or("")
        )));
    }
    let when = parse_amz_date(&cred.amz_date).ok_or_else(|| {
        AuthError::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'.",
            cred.amz_date
        ))
    })?;
    if !cred.amz_date.starts_with(&cred.date) {
        return Err(AuthError::WrongScope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
            cred.date,
            &cred.amz_date[..8.min(cred.amz_date.len())]
        )));
    }
    match cred.presigned_expires {
        None => {
            if (opts.now - when).abs() > MAX_SKEW_SECS {
                return Err(AuthError::Expired(format!(
                    "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                    cred.amz_date,
                    format_amz_date(opts.now - MAX_SKEW_SECS),
                    format_amz_date(opts.now)
                )));
            }
        }
        Some(expires) => {
            if when - opts.now > MAX_SKEW_SECS {
                return Err(AuthError::Expired("Request is not yet valid".into()));
            }
            if opts.now > when + expires {
                return Err(AuthError::Expired("Request has expired".into()));
            }
        }
    }
    let payload_hash = payload_hash(req, cred, payload)?;
    let canonical = canonical_request(req, cred, &payload_hash, opts.double_encode_path)?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        cred.date, cred.region, cred.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        cred.amz_date,
        scope,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, &cred.date, &cred.region, &cred.service);
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if bool::from(expected.as_bytes().ct_eq(cred.signature.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::BadSignature)
    }
}

fn payload_hash(
    req: &Request<'_>,
    cred: &Credential,
    payload: Payload<'_>,
) -> Result<String, AuthError> {
    let declared = req.header("x-amz-content-sha256").map(str::trim);
    match (payload, declared) {
        (Payload::Declared, Some(d)) => Ok(d.to_owned()),
        (Payload::Declared, None) if cred.presigned_expires.is_some() => {
            Ok("UNSIGNED-PAYLOAD".into())
        }
        (Payload::Declared, None) => Err(AuthError::Incomplete(
            "Missing required header for this request: x-amz-content-sha256".into(),
        )),
        (Payload::Bytes(body), declared) => {
            let actual = hex::encode(Sha256::digest(body));
            match declared {
                Some(d) if d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    if d.eq_ignore_ascii_case(&actual) {
                        Ok(d.to_owned())
                    } else {
                        Err(AuthError::Incomplete(
                            "The provided 'x-amz-content-sha256' header does not match what was computed.".into(),
                        ))
                    }
                }
                Some(d) => Ok(d.to_owned()),
                None => Ok(actual),
            }
        }
    }
}

/// The canonical request of SigV4 step 1.
pub fn canonical_request(
    req: &Request<'_>,
    cred: &Credential,
    payload_hash: &str,
    double_encode_path: bool,
) -> Result<String, AuthError> {
    let path = if req.path.is_empty() { "/" } else { req.path };
    let uri = if double_encode_path {
        uri_encode(&normalize_path(path), false)
    } else {
        path.to_owned()
    };
    let mut pairs: Vec<(String, String)> = query_pairs(req.query)
        .into_iter()
        .filter(|(k, _)| !(cred.presigned_expires.is_some() && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k, true), uri_encode(&v, true)))
        .collect();
    pairs.sort();
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in &cred.signed_headers {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| collapse_spaces(v))
            .collect();
        if values.is_empty() {
            return Err(AuthError::Incomplete(format!(
                "The header '{name}' is listed in SignedHeaders but is missing from the request."
            )));
        }
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        uri,
        query,
        headers,
        cred.signed_headers.join(";"),
        payload_hash
    ))
}

/// The SigV4 signing key for a day, region and service.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The git password `aws codecommit credential-helper` computes: `<ts>Z<signature>`.
pub fn git_password(secret: &str, region: &str, host: &str, repo_path: &str, ts: &str) -> String {
    format!(
        "{ts}Z{}",
        hex::encode(git_signature(secret, region, host, repo_path, ts))
    )
}

fn git_signature(secret: &str, region: &str, host: &str, repo_path: &str, ts: &str) -> [u8; 32] {
    let canonical = format!("GIT\n{repo_path}\n\nhost:{host}\n\nhost\n");
    let date = &ts[..8.min(ts.len())];
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{ts}\n{date}/{region}/codecommit/aws4_request\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    hmac(
        &signing_key(secret, date, region, "codecommit"),
        string_to_sign.as_bytes(),
    )
}

/// Whether a Basic-auth password has the shape of a SigV4-derived git password.
pub fn is_git_sigv4_password(password: &str) -> bool {
    let b = password.as_bytes();
    b.len() == 16 + 64
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// Checks a SigV4-derived git password for `repo_path` (`/v1/repos/<name>`) at `host`
/// (without port), trying each region the server accepts.
pub fn verify_git_password(
    secret: &str,
    regions: &[&str],
    host: &str,
    repo_path: &str,
    password: &str,
    now: i64,
) -> Result<(), AuthError> {
    if !is_git_sigv4_password(password) {
        return Err(AuthError::BadSignature);
    }
    let ts = &password[..15];
    let when = parse_amz_date(&format!("{ts}Z")).ok_or(AuthError::BadSignature)?;
    if (now - when).abs() > MAX_SKEW_SECS {
        return Err(AuthError::Expired(format!("Signature expired: {ts}Z")));
    }
    let given = hex::decode(&password[16..]).map_err(|_| AuthError::BadSignature)?;
    for region in regions {
        let expected = git_signature(secret, region, host, repo_path, ts);
        if bool::from(expected.as_slice().ct_eq(&given)) {
            return Ok(());
        }
    }
    Err(AuthError::BadSignature)
}

/// Parses `yyyymmddTHHMMSSZ` into epoch seconds.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let dt = jiff::civil::DateTime::new(
        num(0..4)? as i16,
        num(4..6)? as i8,
        num(6..8)? as i8,
        num(9..11)? as i8,
        num(11..13)? as i8,
        num(13..15)? as i8,
        0,
    )
    .ok()?;
    Some(
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_second(),
    )
}

/// Formats epoch seconds as `yyyymmddTHHMMSSZ`.
pub fn format_amz_date(epoch: i64) -> String {
    match jiff::Timestamp::from_second(epoch) {
        Ok(ts) => ts.strftime("%Y%m%dT%H%M%SZ").to_string(),
        Err(_) => String::new(),
    }
}

/// Splits a raw query string into percent-decoded pairs.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// RFC 3986 encoding: unreserved characters stay, everything else is `%XX`; `/` stays when
/// `encode_slash` is false.
pub fn uri_encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (b == b'/' && !encode_slash);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn normalize_path(path: &str) -> String {
    let mut segs: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let mut out = segs.join("/");
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

fn collapse_spaces(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn now_of(amz: &str) -> i64 {
        parse_amz_date(amz).unwrap()
    }

    #[test]
    fn reference_vector_json11_list_repositories() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/codecommit/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=693e0a9aa49743df58e74128d54cd1c6372772fc8b8b7828f66748d6afc31296";
        let headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Host", "127.0.0.1:8765"),
            ("X-Amz-Date", "20261126T071004Z"),
            ("X-Amz-Target", "CodeCommit_20150413.ListRepositories"),
            ("Authorization", auth),
            ("User-Agent", "aws-cli/1.45.11"),
        ];
        let req = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
        };
        let cred = parse(&req).unwrap();
        assert_eq!(cred.access_key_id, "AKIDEXAMPLE");
        let opts = Options {
            services: &["codecommit"],
            double_encode_path: true,
            now: now_of("20261126T071004Z"),
        };
        verify(&req, &cred, SECRET, Payload::Bytes(b"{}"), &opts).unwrap();
        let canonical =
            canonical_request(&req, &cred, &hex::encode(Sha256::digest(b"{}")), true).unwrap();
        assert!(
            canonical.ends_with("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        );
        // Wrong secret, tampered body, wrong service, outside the clock window.
        assert_eq!(
            verify(&req, &cred, "other", Payload::Bytes(b"{}"), &opts),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(&req, &cred, SECRET, Payload::Bytes(b"{ }"), &opts),
            Err(AuthError::BadSignature)
        );
        let other = Options {
            services: &["codebuild"],
            ..opts
        };
        assert!(matches!(
            verify(&req, &cred, SECRET, Payload::Bytes(b"{}"), &other),
            Err(AuthError::WrongScope(_))
        ));
        let late = Options {
            now: opts.now + 16 * 60,
            ..opts
        };
        assert!(matches!(
            verify(&req, &cred, SECRET, Payload::Bytes(b"{}"), &late),
            Err(AuthError::Expired(_))
        ));
        let ok_late = Options {
            now: opts.now + 14 * 60,
            ..opts
        };
        verify(&req, &cred, SECRET, Payload::Bytes(b"{}"), &ok_late).unwrap();
    }

    #[test]
    fn reference_vector_rest_describe_domain() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/codeartifact/aws4_request, SignedHeaders=host;x-amz-date, Signature=a929625acca16d3055ccb4b5e769da23b1e66fe0e3311eb1f8b32b1fd1920a1f";
        let headers = [
            ("host", "127.0.0.1:8765"),
            ("x-amz-date", "20261126T071005Z"),
            ("authorization", auth),
        ];
        let req = Request {
            method: "GET",
            path: "/v1/domain",
            query: "domain=d1",
            headers: &headers,
        };
        let cred = parse(&req).unwrap();
        let opts = Options {
            services: &["codeartifact"],
            double_encode_path: true,
            now: now_of("20261126T071005Z"),
        };
        verify(&req, &cred, SECRET, Payload::Bytes(b""), &opts).unwrap();
    }

    #[test]
    fn reference_vector_git_password() {
        let pw = git_password(
            SECRET,
            "us-east-1",
            "git.example.internal",
            "/v1/repos/myrepo",
            "20261126T071917",
        );
        assert_eq!(
            pw,
            "20261126T071917Z10d28b9ea3d669ef32bce1350978436aafef3866aea31d524792c5b57ea8f3bd"
        );
        let now = now_of("20261126T071917Z");
        verify_git_password(
            SECRET,
            &["eu-west-1", "us-east-1"],
            "git.example.internal",
            "/v1/repos/myrepo",
            &pw,
            now,
        )
        .unwrap();
        assert!(
            verify_git_password(
                SECRET,
                &["us-east-1"],
                "git.example.internal",
                "/v1/repos/other",
                &pw,
                now
            )
            .is_err()
        );
        assert!(
            verify_git_password(
                SECRET,
                &["us-east-1"],
                "git.example.internal",
                "/v1/repos/myrepo",
                &pw,
                now + 3600
            )
            .is_err()
        );
        assert!(!is_git_sigv4_password("hunter2"));
        assert!(is_git_sigv4_password(&pw));
    }

    #[test]
    fn missing_and_malformed_headers() {
        let req = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &[("host", "h")],
        };
        assert_eq!(parse(&req), Err(AuthError::Missing));
        let h = [
            ("host", "h"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AK/2026/us-east-1/codecommit/aws4_request",
            ),
        ];
        let req = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
        };
        assert!(matches!(parse(&req), Err(AuthError::Incomplete(_))));
        let h = [("host", "h"), ("authorization", "Basic Zm9vOmJhcg==")];
        let req = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
        };
        assert!(matches!(parse(&req), Err(AuthError::Incomplete(_))));
        let e: AwsError = AuthError::Missing.into();
        assert_eq!(
            (e.code.as_ref(), e.status),
            ("MissingAuthenticationTokenException", 403)
        );
        let e: AwsError = AuthError::UnknownKey.into();
        assert_eq!(e.code, "UnrecognizedClientException");
    }

    /// A presigned URL made by signing the query form by hand with the same algorithm.
    #[test]
    fn presigned_query_form() {
        let amz = "20261126T071004Z";
        let base = format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261126%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date={amz}&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
        );
        let headers = [("host", "127.0.0.1:8765")];
        let unsigned = Request {
            method: "GET",
            path: "/bucket/key.txt",
            query: &base,
            headers: &headers,
        };
        let mut cred = parse_query(&Request {
            query: &format!("{base}&X-Amz-Signature={}", "0".repeat(64)),
            ..unsigned.clone()
        })
        .unwrap();
        let canonical = canonical_request(&unsigned, &cred, "UNSIGNED-PAYLOAD", false).unwrap();
        let sts = format!(
            "AWS4-HMAC-SHA256\n{amz}\n20261126/us-east-1/s3/aws4_request\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        cred.signature = hex::encode(hmac(
            &signing_key(SECRET, "20261126", "us-east-1", "s3"),
            sts.as_bytes(),
        ));
        let query = format!("{base}&X-Amz-Signature={}", cred.signature);
        let req = Request {
            query: &query,
            ..unsigned
        };
        let parsed = parse(&req).unwrap();
        let opts = Options {
            services: &["s3"],
            double_encode_path: false,
            now: now_of(amz) + 60,
        };
        verify(&req, &parsed, SECRET, Payload::Declared, &opts).unwrap();
        let expired = Options {
            now: now_of(amz) + 301,
            ..opts
        };
        assert!(matches!(
            verify(&req, &parsed, SECRET, Payload::Declared, &expired),
            Err(AuthError::Expired(_))
        ));
    }

    #[test]
    fn encoding_rules() {
        assert_eq!(uri_encode("a b/c~", false), "a%20b/c~");
        assert_eq!(uri_encode("a/b", true), "a%2Fb");
        assert_eq!(normalize_path("/a/./b/../c"), "/a/c");
        assert_eq!(
            format_amz_date(parse_amz_date("20261126T071004Z").unwrap()),
            "20261126T071004Z"
        );
        assert_eq!(parse_amz_date("2026-11-26"), None);
    }
}
