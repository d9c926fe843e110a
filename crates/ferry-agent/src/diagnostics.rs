//! The result of one lifecycle event as the agent reports it (reference §4.3): an error code,
//! the script concerned, a message and the tail of the scripts' output, serialised as
//! `{"error_code":<int>,"script_name":"...","message":"...","log":"..."}`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The agent's error codes, numbered as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorCode {
    Succeeded = 0,
    ScriptMissing = 1,
    ScriptNotExecutable = 2,
    ScriptTimedOut = 3,
    ScriptFailed = 4,
    UnknownError = 5,
    OutputsLeftOpen = 6,
    FailedAfterRestart = 7,
}

impl ErrorCode {
    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            0 => Self::Succeeded,
            1 => Self::ScriptMissing,
            2 => Self::ScriptNotExecutable,
            3 => Self::ScriptTimedOut,
            4 => Self::ScriptFailed,
            5 => Self::UnknownError,
            6 => Self::OutputsLeftOpen,
            7 => Self::FailedAfterRestart,
            _ => return None,
        })
    }

    /// The API's `LifecycleErrorCode` for this code.
    pub fn lifecycle_error_code(self) -> &'static str {
        match self {
            Self::Succeeded => "Success",
            Self::ScriptMissing => "ScriptMissing",
            Self::ScriptNotExecutable => "ScriptNotExecutable",
            Self::ScriptTimedOut => "ScriptTimedOut",
            Self::ScriptFailed | Self::OutputsLeftOpen => "ScriptFailed",
            Self::UnknownError | Self::FailedAfterRestart => "UnknownError",
        }
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = u64::deserialize(d)?;
        Self::from_code(code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code {code}")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    pub error_code: ErrorCode,
    /// The script's location in the bundle; empty when no script is concerned.
    pub script_name: String,
    pub message: String,
    /// The last bytes of the event's script output.
    pub log: String,
}

impl Diagnostics {
    pub fn success() -> Self {
        Self {
            error_code: ErrorCode::Succeeded,
            script_name: String::new(),
            message: "Succeeded".to_owned(),
            log: String::new(),
        }
    }

    pub fn unknown_error(message: impl Into<String>) -> Self {
        Self {
            error_code: ErrorCode::UnknownError,
            script_name: String::new(),
            message: message.into(),
            log: String::new(),
        }
    }

    pub fn is_success(&self) -> bool {
        self.error_code == ErrorCode::Succeeded
    }

    /// The JSON payload of `PutHostCommandComplete`'s diagnostics.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("diagnostics serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_round_trip() {
        let d = Diagnostics {
            error_code: ErrorCode::ScriptFailed,
            script_name: "scripts/start.sh".into(),
            message: "Script at specified location: scripts/start.sh failed with exit code 3"
                .into(),
            log: "[stderr]boom\n".into(),
        };
        let json = d.to_json();
        assert_eq!(
            json,
            r#"{"error_code":4,"script_name":"scripts/start.sh","message":"Script at specified location: scripts/start.sh failed with exit code 3","log":"[stderr]boom\n"}"#
        );
        assert_eq!(serde_json::from_str::<Diagnostics>(&json).unwrap(), d);
        assert_eq!(
            Diagnostics::success().to_json(),
            r#"{"error_code":0,"script_name":"","message":"Succeeded","log":""}"#
        );
        assert!(
            serde_json::from_str::<Diagnostics>(
                r#"{"error_code":9,"script_name":"","message":"","log":""}"#
            )
            .is_err()
        );
    }

    #[test]
    fn codes_map_to_the_api() {
        for code in 0..8 {
            let e = ErrorCode::from_code(code).unwrap();
            assert_eq!(e as u64, code);
        }
        assert_eq!(
            ErrorCode::OutputsLeftOpen.lifecycle_error_code(),
            "ScriptFailed"
        );
        assert_eq!(
            ErrorCode::FailedAfterRestart.lifecycle_error_code(),
            "UnknownError"
        );
        assert_eq!(ErrorCode::from_code(8), None);
    }
}
