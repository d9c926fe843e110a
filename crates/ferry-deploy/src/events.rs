//! Lifecycle events of one target, in AWS order (reference §4.2), and which of them the
//! service performs itself (never sent to an agent) or may ignore the failure of.

/// The events of an in-place deployment (and its rollback), without Start and End.
pub const IN_PLACE: &[&str] = &[
    "BeforeBlockTraffic",
    "BlockTraffic",
    "AfterBlockTraffic",
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
];

/// The events of a blue/green replacement (green) instance.
pub const REPLACEMENT: &[&str] = &[
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
];

/// The events of a blue/green original (blue) instance.
pub const ORIGINAL: &[&str] = &["BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic"];

/// Events the service performs itself (traffic control; no load balancer here).
pub fn service_only(event: &str) -> bool {
    matches!(event, "BlockTraffic" | "AllowTraffic")
}

/// Events whose failure `ignoreApplicationStopFailures` forgives.
pub fn ignorable(event: &str) -> bool {
    matches!(
        event,
        "ApplicationStop" | "BeforeBlockTraffic" | "AfterBlockTraffic"
    )
}
