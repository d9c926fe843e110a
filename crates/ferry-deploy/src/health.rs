//! Deployment configurations and CodeDeploy's health arithmetic for in-place deployments
//! (reference §4.5): the predefined `CodeDeployDefault.*` server configurations, the minimum
//! number of healthy instances a configuration demands of N targets, and the offline budget
//! that sizes batches and decides when a deployment must stop.

use ferry_model::codedeploy::{
    ComputePlatform, DeploymentConfigInfo, MinimumHealthyHosts, MinimumHealthyHostsType,
};

/// The predefined configurations for the Server platform.
pub const SERVER_DEFAULTS: &[&str] = &[
    "CodeDeployDefault.AllAtOnce",
    "CodeDeployDefault.HalfAtATime",
    "CodeDeployDefault.OneAtATime",
];

/// The predefined configurations of the other platforms (readable, not deployable here).
pub const OTHER_DEFAULTS: &[&str] = &[
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    "CodeDeployDefault.LambdaAllAtOnce",
    "CodeDeployDefault.LambdaCanary10Percent10Minutes",
    "CodeDeployDefault.LambdaCanary10Percent15Minutes",
    "CodeDeployDefault.LambdaCanary10Percent30Minutes",
    "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
];

/// The name used when neither the deployment nor its group names a configuration.
pub const DEFAULT_CONFIG: &str = "CodeDeployDefault.OneAtATime";

/// A predefined configuration's document, if `name` is one.
pub fn predefined(name: &str) -> Option<DeploymentConfigInfo> {
    let (kind, value) = match name {
        "CodeDeployDefault.AllAtOnce" => (MinimumHealthyHostsType::FleetPercent, 0),
        "CodeDeployDefault.HalfAtATime" => (MinimumHealthyHostsType::FleetPercent, 50),
        "CodeDeployDefault.OneAtATime" => (MinimumHealthyHostsType::FleetPercent, 99),
        n if OTHER_DEFAULTS.contains(&n) => {
            let platform = if n.contains("ECS") {
                ComputePlatform::Ecs
            } else {
                ComputePlatform::Lambda
            };
            return Some(DeploymentConfigInfo {
                deployment_config_id: Some(stable_id(n)),
                deployment_config_name: Some(n.to_owned()),
                compute_platform: Some(platform),
                ..Default::default()
            });
        }
        _ => return None,
    };
    Some(DeploymentConfigInfo {
        deployment_config_id: Some(stable_id(name)),
        deployment_config_name: Some(name.to_owned()),
        minimum_healthy_hosts: Some(MinimumHealthyHosts {
            r#type: Some(kind),
            value: Some(value),
        }),
        compute_platform: Some(ComputePlatform::Server),
        ..Default::default()
    })
}

/// A fixed UUID-shaped id for a predefined configuration (the same on every node).
fn stable_id(name: &str) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in name.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let x = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// How many of `n` instances must stay healthy under `config` (its name decides for
/// OneAtATime, which is "all but one", not a literal 99 %).
pub fn minimum_healthy(config: &DeploymentConfigInfo, n: usize) -> usize {
    if config.deployment_config_name.as_deref() == Some("CodeDeployDefault.OneAtATime") {
        return n.saturating_sub(1);
    }
    let Some(m) = &config.minimum_healthy_hosts else {
        return 0;
    };
    let value = m.value.unwrap_or(0).max(0) as usize;
    match m.r#type {
        Some(MinimumHealthyHostsType::HostCount) => value,
        _ => (value * n).div_ceil(100),
    }
}

/// Why a deployment cannot start with this many instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Infeasible {
    NoInstances,
    /// The configuration demands every instance (or more) stay healthy.
    Constraints {
        minimum: usize,
        instances: usize,
    },
}

/// The offline budget: how many instances may be deploying or failed at once.
pub fn budget(config: &DeploymentConfigInfo, n: usize) -> Result<usize, Infeasible> {
    if n == 0 {
        return Err(Infeasible::NoInstances);
    }
    let m = minimum_healthy(config, n);
    if n == 1 {
        // A single instance is always deployed (and must succeed).
        return Ok(1);
    }
    if m >= n {
        return Err(Infeasible::Constraints {
            minimum: m,
            instances: n,
        });
    }
    Ok(n - m)
}

/// Whether a finished deployment succeeded: at least `max(m, 1)` instances succeeded.
pub fn succeeded(config: &DeploymentConfigInfo, n: usize, succeeded: usize) -> bool {
    succeeded >= minimum_healthy(config, n).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(kind: MinimumHealthyHostsType, value: i32) -> DeploymentConfigInfo {
        DeploymentConfigInfo {
            deployment_config_name: Some("Custom".into()),
            minimum_healthy_hosts: Some(MinimumHealthyHosts {
                r#type: Some(kind),
                value: Some(value),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn documented_batches() {
        let one = predefined("CodeDeployDefault.OneAtATime").unwrap();
        let half = predefined("CodeDeployDefault.HalfAtATime").unwrap();
        let all = predefined("CodeDeployDefault.AllAtOnce").unwrap();
        assert_eq!(budget(&one, 10), Ok(1));
        assert_eq!(budget(&one, 1), Ok(1));
        // 9 instances half at a time: 4 at a time, 5 must succeed.
        assert_eq!(minimum_healthy(&half, 9), 5);
        assert_eq!(budget(&half, 9), Ok(4));
        assert_eq!(budget(&all, 4), Ok(4));
        assert!(succeeded(&all, 4, 1) && !succeeded(&all, 4, 0));
        assert!(succeeded(&half, 9, 5) && !succeeded(&half, 9, 4));
        assert!(succeeded(&one, 4, 3) && !succeeded(&one, 4, 2));
        assert!(succeeded(&one, 1, 1) && !succeeded(&one, 1, 0));
    }

    #[test]
    fn custom_configurations_round_up_and_refuse_impossible_demands() {
        let p75 = custom(MinimumHealthyHostsType::FleetPercent, 75);
        assert_eq!(minimum_healthy(&p75, 4), 3);
        assert_eq!(budget(&p75, 4), Ok(1));
        let p95 = custom(MinimumHealthyHostsType::FleetPercent, 95);
        assert_eq!(
            budget(&p95, 10),
            Err(Infeasible::Constraints {
                minimum: 10,
                instances: 10
            })
        );
        let h8 = custom(MinimumHealthyHostsType::HostCount, 8);
        assert_eq!(budget(&h8, 10), Ok(2));
        assert_eq!(budget(&h8, 0), Err(Infeasible::NoInstances));
    }

    #[test]
    fn predefined_ids_are_stable_and_uuid_shaped() {
        let a = predefined("CodeDeployDefault.AllAtOnce").unwrap();
        let b = predefined("CodeDeployDefault.AllAtOnce").unwrap();
        assert_eq!(a.deployment_config_id, b.deployment_config_id);
        assert_eq!(a.deployment_config_id.unwrap().len(), 36);
        assert!(predefined("CodeDeployDefault.LambdaAllAtOnce").is_some());
        assert!(predefined("Mine").is_none());
    }
}
