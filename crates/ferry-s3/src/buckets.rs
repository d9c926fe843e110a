//! Bucket operations: ListBuckets (prefix, region filter, `max-buckets` pages with
//! continuation tokens), CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
//! Get/PutBucketVersioning.

use axum::body::Body;
use axum::response::Response;
use ferry_store::StoreError;
use ferry_store::s3::Bucket;

use crate::error::S3Error;
use crate::reply::{empty, set, xml};
use crate::xml::XmlOut;
use crate::{Req, S3, body, names, time};

pub async fn list(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let buckets = s3.store.buckets().await?;
    let prefix = req.q("prefix").unwrap_or("");
    let region = req.q("bucket-region").filter(|r| !r.is_empty());
    let limit = match req.q("max-buckets") {
        None => None,
        Some(m) => Some(
            m.parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    S3Error::invalid_argument("max-buckets must be an integer between 1 and 10000")
                })?,
        ),
    };
    // The token names the last bucket of the previous page.
    let after = match req.q("continuation-token").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            B64.decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    S3Error::invalid_argument("The continuation token provided is incorrect")
                })?,
        ),
    };
    let mut page: Vec<&Bucket> = buckets
        .iter()
        .filter(|b| b.name.starts_with(prefix))
        .filter(|b| region.is_none_or(|r| b.region == r))
        .filter(|b| after.as_ref().is_none_or(|a| b.name > *a))
        .collect();
    let truncated = limit.is_some_and(|n| page.len() > n);
    if let Some(n) = limit {
        page.truncate(n);
    }
    let mut x = XmlOut::new("ListAllMyBucketsResult");
    req.owner_xml(&mut x, "Owner");
    x.open("Buckets");
    for b in &page {
        x.open("Bucket")
            .leaf("Name", &b.name)
            .leaf("CreationDate", &time::iso(b.created_ms))
            .leaf("BucketRegion", &b.region)
            .close("Bucket");
    }
    x.close("Buckets");
    if truncated && let Some(last) = page.last() {
        x.leaf("ContinuationToken", &B64.encode(&last.name));
    }
    if !prefix.is_empty() {
        x.leaf("Prefix", prefix);
    }
    Ok(xml(x.finish("ListAllMyBucketsResult")))
}

pub async fn create(s3: &S3, req: &Req, body: &mut Body) -> Result<Response, S3Error> {
    let name = req.bucket_name();
    names::check_bucket_name(name)?;
    let raw = body::small(&req.headers, body, &req.payload).await?;
    let mut region = req.caller.region.clone();
    if !raw.iter().all(u8::is_ascii_whitespace) {
        let doc = crate::xml::parse(&raw)?;
        if doc.name != "CreateBucketConfiguration" {
            return Err(S3Error::malformed_xml());
        }
        match doc.text_of("LocationConstraint").map(str::trim) {
            None | Some("") => {}
            // us-east-1 is named by leaving the constraint out; naming it is refused.
            Some("us-east-1") => {
                return Err(S3Error::new(
                    "InvalidLocationConstraint",
                    400,
                    "The specified location-constraint is not valid",
                )
                .with("LocationConstraint", "us-east-1"));
            }
            Some(c) => region = c.to_owned(),
        }
    }
    let bucket = Bucket {
        name: name.to_owned(),
        region: region.clone(),
        owner_arn: req.caller.principal_arn.clone(),
        versioning: String::new(),
        created_ms: time::now_ms(),
    };
    match s3.store.create_bucket(&bucket).await {
        Ok(()) => {}
        // One account owns every bucket here; us-east-1 answers success to its owner, as S3 does.
        Err(StoreError::Conflict(_)) if region == "us-east-1" => {}
        Err(StoreError::Conflict(_)) => {
            return Err(S3Error::new(
                "BucketAlreadyOwnedByYou",
                409,
                "Your previous request to create the named bucket succeeded and you already own it.",
            )
            .with("BucketName", name));
        }
        Err(e) => return Err(e.into()),
    }
    let mut r = empty(200);
    set(&mut r, "location", &format!("/{name}"));
    Ok(r)
}

pub async fn head(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let b = s3.bucket(req.bucket_name()).await?;
    let mut r = empty(200);
    set(&mut r, "x-amz-bucket-region", &b.region);
    Ok(r)
}

pub async fn delete(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let name = req.bucket_name();
    match s3.store.delete_bucket(name).await {
        Ok(()) => Ok(empty(204)),
        Err(StoreError::NotFound) => Err(S3Error::no_such_bucket(name)),
        Err(StoreError::Conflict(_)) => Err(S3Error::new(
            "BucketNotEmpty",
            409,
            "The bucket you tried to delete is not empty",
        )
        .with("BucketName", name)),
        Err(e) => Err(e.into()),
    }
}

pub async fn location(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let b = s3.bucket(req.bucket_name()).await?;
    let region = if b.region == "us-east-1" {
        ""
    } else {
        &b.region
    };
    Ok(xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{}\">{}</LocationConstraint>",
        crate::xml::NS,
        crate::xml::escape(region)
    )))
}

pub async fn get_versioning(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let b = s3.bucket(req.bucket_name()).await?;
    let mut x = XmlOut::new("VersioningConfiguration");
    if !b.versioning.is_empty() {
        x.leaf("Status", &b.versioning);
    }
    Ok(xml(x.finish("VersioningConfiguration")))
}

pub async fn put_versioning(s3: &S3, req: &Req, body: &mut Body) -> Result<Response, S3Error> {
    let name = req.bucket_name();
    s3.bucket(name).await?;
    let raw = body::small(&req.headers, body, &req.payload).await?;
    let doc = crate::xml::parse(&raw)?;
    if doc.name != "VersioningConfiguration" {
        return Err(S3Error::malformed_xml());
    }
    let status = match doc.text_of("Status") {
        Some(s @ ("Enabled" | "Suspended")) => s,
        _ => return Err(S3Error::malformed_xml()),
    };
    if doc.text_of("MfaDelete") == Some("Enabled") {
        return Err(S3Error::not_implemented("MFA delete"));
    }
    match s3.store.set_bucket_versioning(name, status).await {
        Ok(()) => Ok(empty(200)),
        Err(StoreError::NotFound) => Err(S3Error::no_such_bucket(name)),
        Err(e) => Err(e.into()),
    }
}
