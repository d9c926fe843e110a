//! Plain values shared by every Ferry crate, with no I/O: API timestamps (epoch seconds on the
//! wire), blobs (base64 on the wire), opaque pagination tokens, ARNs and generated identifiers.

pub mod arn;
pub mod blob;
pub mod ids;
pub mod page;
pub mod time;

pub use blob::Blob;
pub use time::Timestamp;
