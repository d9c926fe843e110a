//! `Timestamp`: an instant with millisecond precision that the JSON protocols carry as
//! epoch seconds (a JSON number, fractional when needed), and that accepts ISO-8601 text on
//! input as botocore sometimes sends.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self(d.as_millis() as i64)
    }

    /// From milliseconds since the epoch.
    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch.
    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Seconds since the epoch as the wire number.
    pub fn as_epoch_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Parses ISO-8601 / RFC 3339 text such as `2026-11-26T07:10:04Z`.
    pub fn parse_iso8601(s: &str) -> Option<Self> {
        let ts: jiff::Timestamp = s.parse().ok()?;
        Some(Self(ts.as_millisecond()))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.serialize_i64(self.0 / 1000)
        } else {
            s.serialize_f64(self.as_epoch_f64())
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("epoch seconds or an ISO-8601 timestamp")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v.saturating_mul(1000)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                Ok(Timestamp((v as i64).saturating_mul(1000)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Timestamp, E> {
                Ok(Timestamp((v * 1000.0).round() as i64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_iso8601(v)
                    .or_else(|| {
                        v.parse::<f64>()
                            .ok()
                            .map(|f| Timestamp((f * 1000.0).round() as i64))
                    })
                    .ok_or_else(|| E::custom("invalid timestamp"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_epoch_seconds() {
        assert_eq!(
            serde_json::to_string(&Timestamp(1_732_601_234_000)).unwrap(),
            "1732601234"
        );
        assert_eq!(
            serde_json::to_string(&Timestamp(1_732_601_234_567)).unwrap(),
            "1732601234.567"
        );
    }

    #[test]
    fn accepts_numbers_and_iso_text() {
        let a: Timestamp = serde_json::from_str("1732601234.5").unwrap();
        assert_eq!(a.0, 1_732_601_234_500);
        let b: Timestamp = serde_json::from_str("\"2024-11-26T07:10:04Z\"").unwrap();
        assert_eq!(b.seconds(), 1_732_605_004);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
