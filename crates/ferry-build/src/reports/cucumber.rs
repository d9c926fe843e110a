//! Cucumber JSON (`CUCUMBERJSON`): the `json` formatter of cucumber-jvm, cucumber-ruby and
//! cucumber-js (≤ 7.3.2 per CodeBuild's documentation): an array of features, each with
//! `elements` (scenarios, scenario-outline examples, backgrounds) made of `steps` and
//! `before`/`after` hooks, each carrying `result {status, duration (ns), error_message}`.
//!
//! Each scenario element is one test case: scenario `name` → name, feature `name` → prefix and
//! testSuiteName, summed step and hook durations → durationInNanoSeconds. A `background`
//! element (cucumber-jvm writes one before each scenario) is counted into the scenario that
//! follows it. Status from the step and hook results: any `failed` → FAILED, else any
//! `ambiguous` → ERROR, else any status Cucumber does not define → UNKNOWN, else any `skipped`,
//! `pending` or `undefined` → SKIPPED, else (all `passed`, or no steps) SUCCEEDED. Message: the
//! first `error_message`.
//!
//! The feature array is consumed one feature at a time (no tree of the whole document).

use super::{ERROR, FAILED, Res, SKIPPED, SUCCEEDED, TestCaseResult, UNKNOWN};
use serde::Deserialize;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use std::fmt;

pub(crate) fn parse(bytes: &[u8], raw_path: &str) -> Res<Vec<TestCaseResult>> {
    let text = super::utf8_text(bytes)?;
    let mut out = Vec::new();
    let mut limit_hit = None;
    let mut de = serde_json::Deserializer::from_str(&text);
    let seed = Features {
        out: &mut out,
        raw_path,
        limit_hit: &mut limit_hit,
    };
    let parsed = seed.deserialize(&mut de).and_then(|()| de.end());
    if let Some(err) = limit_hit {
        return Err(err);
    }
    parsed.map_err(|e| format!("not valid Cucumber JSON: {e}"))?;
    Ok(out)
}

struct Features<'o> {
    out: &'o mut Vec<TestCaseResult>,
    raw_path: &'o str,
    limit_hit: &'o mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Features<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Features<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of Cucumber features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(feature) = seq.next_element::<Feature>()? {
            if let Err(e) = feature.into_cases(self.raw_path, self.out) {
                *self.limit_hit = Some(e.clone());
                return Err(serde::de::Error::custom(e));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Feature {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    elements: Vec<Element>,
}

#[derive(Deserialize)]
struct Element {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    steps: Fold,
    #[serde(default)]
    before: Fold,
    #[serde(default)]
    after: Fold,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
enum Outcome {
    #[default]
    Passed,
    Skipped,
    Unknown,
    Ambiguous,
    Failed,
}

/// Step / hook results folded as they are read.
#[derive(Default)]
struct Fold {
    outcome: Outcome,
    duration: f64,
    message: Option<String>,
}

impl Fold {
    fn merge(&mut self, other: Fold) {
        self.outcome = self.outcome.max(other.outcome);
        self.duration += other.duration;
        if self.message.is_none() {
            self.message = other.message;
        }
    }
}

#[derive(Deserialize)]
struct Step {
    #[serde(default)]
    result: Option<StepResult>,
}

#[derive(Deserialize)]
struct StepResult {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    error_message: Option<String>,
}

impl<'de> Deserialize<'de> for Fold {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FoldVisitor;
        impl<'de> Visitor<'de> for FoldVisitor {
            type Value = Fold;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of steps")
            }
            fn visit_unit<E>(self) -> Result<Fold, E> {
                Ok(Fold::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fold, A::Error> {
                let mut fold = Fold::default();
                while let Some(step) = seq.next_element::<Step>()? {
                    let Some(result) = step.result else { continue };
                    let outcome = match result.status.as_deref() {
                        Some("passed") => Outcome::Passed,
                        Some("failed") => Outcome::Failed,
                        Some("ambiguous") => Outcome::Ambiguous,
                        Some("skipped" | "pending" | "undefined") => Outcome::Skipped,
                        _ => Outcome::Unknown,
                    };
                    fold.merge(Fold {
                        outcome,
                        duration: result
                            .duration
                            .filter(|d| d.is_finite() && *d > 0.0)
                            .unwrap_or(0.0),
                        message: super::non_empty(result.error_message),
                    });
                }
                Ok(fold)
            }
        }
        d.deserialize_any(FoldVisitor)
    }
}

impl Feature {
    fn into_cases(self, raw_path: &str, out: &mut Vec<TestCaseResult>) -> Res<()> {
        let feature = super::non_empty(self.name);
        let mut background: Option<Fold> = None;
        for element in self.elements {
            let mut fold = Fold::default();
            fold.merge(element.before);
            fold.merge(element.steps);
            fold.merge(element.after);
            if element.kind.as_deref() == Some("background") {
                match &mut background {
                    Some(b) => b.merge(fold),
                    None => background = Some(fold),
                }
                continue;
            }
            if let Some(b) = background.take() {
                let mut merged = b;
                merged.merge(fold);
                fold = merged;
            }
            let status = match fold.outcome {
                Outcome::Passed => SUCCEEDED,
                Outcome::Skipped => SKIPPED,
                Outcome::Unknown => UNKNOWN,
                Outcome::Ambiguous => ERROR,
                Outcome::Failed => FAILED,
            };
            super::push_case(
                out,
                TestCaseResult {
                    test_raw_data_path: raw_path.to_owned(),
                    prefix: feature.clone(),
                    name: element.name.unwrap_or_default(),
                    status: status.to_owned(),
                    duration_in_nano_seconds: super::float_nanos(fold.duration),
                    message: fold.message.map(super::truncate),
                    test_suite_name: feature.clone(),
                },
            )?;
        }
        Ok(())
    }
}
