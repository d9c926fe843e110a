//! The `aws-chunked` content encoding of S3 uploads: `<hex size>[;chunk-signature=<sig>]\r\n`
//! `<data>\r\n` ... a zero-size chunk, then optional trailing headers (checksums) and, for the
//! signed-trailer form, `x-amz-trailer-signature`. Signed chunks are checked against the
//! chain that starts at the request's seed signature. Fed incrementally; never buffers more
//! than one header line.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::sigv4::EMPTY_SHA256;

/// The longest chunk header or trailer line accepted.
const MAX_LINE: usize = 4096;
/// The most trailing header bytes accepted.
const MAX_TRAILER: usize = 16 * 1024;

/// Why an aws-chunked body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("malformed chunked encoding: {0}")]
    Malformed(&'static str),
    #[error("chunk signature does not match")]
    BadSignature,
    #[error("the body ended before its final chunk")]
    Incomplete,
}

/// What signed chunks are checked with.
#[derive(Debug, Clone)]
pub struct ChunkSigner {
    /// The SigV4 signing key of the request's scope.
    pub key: [u8; 32],
    /// `yyyymmddTHHMMSSZ` of the request.
    pub amz_date: String,
    /// `date/region/service/aws4_request`.
    pub scope: String,
    /// The previous signature (the request's own, for the first chunk).
    pub prev: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Header,
    Data { left: u64 },
    DataEnd,
    Trailer,
    Done,
}

/// An incremental aws-chunked decoder.
#[derive(Debug)]
pub struct ChunkDecoder {
    signer: Option<ChunkSigner>,
    expects_trailer: bool,
    state: State,
    line: Vec<u8>,
    chunk_sig: Option<String>,
    chunk_hash: Sha256,
    trailer_bytes: usize,
    trailers: Vec<(String, String)>,
    trailer_sig: Option<String>,
}

fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(msg);
    hex::encode(m.finalize().into_bytes())
}

impl ChunkDecoder {
    /// A decoder; `signer` for the signed forms, `trailer` when trailing headers follow.
    pub fn new(signer: Option<ChunkSigner>, trailer: bool) -> Self {
        Self {
            signer,
            expects_trailer: trailer,
            state: State::Header,
            line: Vec::new(),
            chunk_sig: None,
            chunk_hash: Sha256::new(),
            trailer_bytes: 0,
            trailers: Vec::new(),
            trailer_sig: None,
        }
    }

    /// Decodes `input`, appending payload bytes to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkError> {
        while !input.is_empty() {
            match self.state.clone() {
                State::Header | State::Trailer | State::DataEnd => {
                    let Some(line) = self.take_line(&mut input)? else {
                        return Ok(());
                    };
                    match self.state {
                        State::Header => self.header(&line)?,
                        State::DataEnd => {
                            if !line.is_empty() {
                                return Err(ChunkError::Malformed(
                                    "chunk data longer than its size",
                                ));
                            }
                            self.state = State::Header;
                        }
                        _ => self.trailer_line(&line)?,
                    }
                }
                State::Data { left } => {
                    let n = (left as usize).min(input.len());
                    let (data, rest) = input.split_at(n);
                    self.chunk_hash.update(data);
                    out.extend_from_slice(data);
                    input = rest;
                    let left = left - n as u64;
                    if left == 0 {
                        self.end_chunk()?;
                        self.state = State::DataEnd;
                    } else {
                        self.state = State::Data { left };
                    }
                }
                State::Done => return Err(ChunkError::Malformed("data after the final chunk")),
            }
        }
        Ok(())
    }

    /// Checks the body ended where it should; returns the trailing headers (lower-case names).
    pub fn finish(self) -> Result<Vec<(String, String)>, ChunkError> {
        if self.state != State::Done {
            return Err(ChunkError::Incomplete);
        }
        Ok(self.trailers)
    }

    /// One `\r\n`-terminated line from `input`, or `None` when more input is needed.
    fn take_line(&mut self, input: &mut &[u8]) -> Result<Option<String>, ChunkError> {
        match input.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.line.extend_from_slice(&input[..i]);
                *input = &input[i + 1..];
                if self.line.len() > MAX_LINE {
                    return Err(ChunkError::Malformed("line too long"));
                }
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                String::from_utf8(line)
                    .map(Some)
                    .map_err(|_| ChunkError::Malformed("line is not UTF-8"))
            }
            None => {
                self.line.extend_from_slice(input);
                *input = &[];
                if self.line.len() > MAX_LINE {
                    return Err(ChunkError::Malformed("line too long"));
                }
                Ok(None)
            }
        }
    }

    fn header(&mut self, line: &str) -> Result<(), ChunkError> {
        let (size, ext) = line.split_once(';').unwrap_or((line, ""));
        let size = u64::from_str_radix(size.trim(), 16)
            .map_err(|_| ChunkError::Malformed("chunk size is not hexadecimal"))?;
        self.chunk_sig = ext
            .trim()
            .strip_prefix("chunk-signature=")
            .map(|s| s.trim().to_ascii_lowercase());
        if self.signer.is_some() && self.chunk_sig.is_none() {
            return Err(ChunkError::Malformed("chunk without chunk-signature"));
        }
        self.chunk_hash = Sha256::new();
        if size == 0 {
            self.end_chunk()?;
            self.state = State::Trailer;
        } else {
            self.state = State::Data { left: size };
        }
        Ok(())
    }

    fn end_chunk(&mut self) -> Result<(), ChunkError> {
        let hash = hex::encode(std::mem::take(&mut self.chunk_hash).finalize());
        if let Some(s) = &mut self.signer {
            let sts = format!(
                "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{hash}",
                s.amz_date, s.scope, s.prev
            );
            let expected = hmac_hex(&s.key, sts.as_bytes());
            let given = self.chunk_sig.take().unwrap_or_default();
            if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
                return Err(ChunkError::BadSignature);
            }
            s.prev = expected;
        }
        Ok(())
    }

    fn trailer_line(&mut self, line: &str) -> Result<(), ChunkError> {
        if line.is_empty() {
            return self.end_trailer();
        }
        self.trailer_bytes += line.len();
        if self.trailer_bytes > MAX_TRAILER || !self.expects_trailer {
            return Err(ChunkError::Malformed("unexpected trailing headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(ChunkError::Malformed("trailing header without ':'"))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_owned();
        if name == "x-amz-trailer-signature" {
            self.trailer_sig = Some(value.to_ascii_lowercase());
        } else {
            self.trailers.push((name, value));
        }
        Ok(())
    }

    fn end_trailer(&mut self) -> Result<(), ChunkError> {
        if let Some(s) = &self.signer
            && self.expects_trailer
        {
            let mut canonical = String::new();
            for (n, v) in &self.trailers {
                canonical.push_str(&format!("{n}:{v}\n"));
            }
            let sts = format!(
                "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
                s.amz_date,
                s.scope,
                s.prev,
                hex::encode(Sha256::digest(canonical.as_bytes()))
            );
            let expected = hmac_hex(&s.key, sts.as_bytes());
            let given = self.trailer_sig.take().unwrap_or_default();
            if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
                return Err(ChunkError::BadSignature);
            }
        }
        self.state = State::Done;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::signing_key;

    fn signer(seed: &str) -> ChunkSigner {
        ChunkSigner {
            key: signing_key("secret", "20261126", "us-east-1", "s3"),
            amz_date: "20261126T120000Z".into(),
            scope: "20261126/us-east-1/s3/aws4_request".into(),
            prev: seed.into(),
        }
    }

    /// Encodes `chunks` the way a signing client does.
    fn encode(chunks: &[&[u8]], s: Option<ChunkSigner>, trailer: Option<(&str, &str)>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev = s.as_ref().map(|s| s.prev.clone());
        let mut all: Vec<&[u8]> = chunks.to_vec();
        all.push(b"");
        for c in all {
            out.extend_from_slice(format!("{:x}", c.len()).as_bytes());
            if let (Some(s), Some(p)) = (&s, &mut prev) {
                let sts = format!(
                    "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{p}\n{EMPTY_SHA256}\n{}",
                    s.amz_date,
                    s.scope,
                    hex::encode(Sha256::digest(c))
                );
                *p = hmac_hex(&s.key, sts.as_bytes());
                out.extend_from_slice(format!(";chunk-signature={p}").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            if !c.is_empty() {
                out.extend_from_slice(c);
                out.extend_from_slice(b"\r\n");
            }
        }
        if let Some((n, v)) = trailer {
            out.extend_from_slice(format!("{n}:{v}\r\n").as_bytes());
            if let (Some(s), Some(p)) = (&s, &prev) {
                let sts = format!(
                    "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{p}\n{}",
                    s.amz_date,
                    s.scope,
                    hex::encode(Sha256::digest(format!("{n}:{v}\n").as_bytes()))
                );
                let sig = hmac_hex(&s.key, sts.as_bytes());
                out.extend_from_slice(format!("x-amz-trailer-signature:{sig}\r\n").as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    type Decoded = (Vec<u8>, Vec<(String, String)>);

    fn decode(
        body: &[u8],
        s: Option<ChunkSigner>,
        trailer: bool,
        step: usize,
    ) -> Result<Decoded, ChunkError> {
        let mut d = ChunkDecoder::new(s, trailer);
        let mut out = Vec::new();
        for piece in body.chunks(step) {
            d.feed(piece, &mut out)?;
        }
        Ok((out, d.finish()?))
    }

    #[test]
    fn signed_chunks_decode_in_any_split() {
        let seed = "a".repeat(64);
        let body = encode(&[&[7u8; 100], b"hello world"], Some(signer(&seed)), None);
        for step in [1, 3, 7, 64, 10_000] {
            let (out, tr) = decode(&body, Some(signer(&seed)), false, step).unwrap();
            assert_eq!(out.len(), 111);
            assert!(out.ends_with(b"hello world"));
            assert!(tr.is_empty());
        }
    }

    #[test]
    fn tampering_is_caught() {
        let seed = "b".repeat(64);
        let mut body = encode(&[b"payload data"], Some(signer(&seed)), None);
        let i = body.windows(7).position(|w| w == b"payload").unwrap();
        body[i] = b'P';
        assert_eq!(
            decode(&body, Some(signer(&seed)), false, 5).unwrap_err(),
            ChunkError::BadSignature
        );
        let body = encode(&[b"x"], Some(signer(&seed)), None);
        assert_eq!(
            decode(&body, Some(signer(&"c".repeat(64))), false, 5).unwrap_err(),
            ChunkError::BadSignature,
            "a chain from another seed"
        );
        assert_eq!(
            decode(&body[..body.len() - 3], Some(signer(&seed)), false, 5).unwrap_err(),
            ChunkError::Incomplete
        );
    }

    #[test]
    fn trailers_unsigned_and_signed() {
        let body = encode(&[b"abc"], None, Some(("x-amz-checksum-crc32", "NSRBwg==")));
        let (out, tr) = decode(&body, None, true, 2).unwrap();
        assert_eq!(out, b"abc");
        assert_eq!(tr, vec![("x-amz-checksum-crc32".into(), "NSRBwg==".into())]);
        let seed = "d".repeat(64);
        let body = encode(
            &[b"abc"],
            Some(signer(&seed)),
            Some(("x-amz-checksum-crc32", "NSRBwg==")),
        );
        assert!(decode(&body, Some(signer(&seed)), true, 4).is_ok());
        let forged = String::from_utf8(body)
            .unwrap()
            .replace("NSRBwg==", "AAAAAA==");
        assert_eq!(
            decode(forged.as_bytes(), Some(signer(&seed)), true, 4).unwrap_err(),
            ChunkError::BadSignature
        );
        assert!(matches!(
            decode(b"zz\r\n", None, false, 4),
            Err(ChunkError::Malformed(_))
        ));
    }
}
