//! Applications, deployment groups, custom deployment configurations, registered revisions
//! and resource tags.

use std::collections::BTreeMap;

use ferry_model::codedeploy::*;
use ferry_store::StoreError;
use ferry_wire::AwsError;

use crate::api::{DeployApi, err, internal, page, valid_name};
use crate::health;
use crate::service::now;

const PAGE: usize = 100;

fn app_missing(name: &str) -> AwsError {
    err(
        "ApplicationDoesNotExistException",
        format!("No application found for name: {name}"),
    )
}

fn check_app_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() {
        return Err(err(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        ));
    }
    if !valid_name(name) {
        return Err(err(
            "InvalidApplicationNameException",
            format!("The application name was specified in an invalid format: {name}"),
        ));
    }
    Ok(())
}

/// The key a revision is stored under: every part that identifies it.
pub(crate) fn revision_key(r: &RevisionLocation) -> Result<String, AwsError> {
    match r.revision_type {
        Some(RevisionLocationType::S3) | None => {
            let s3 = r.s3_location.as_ref().ok_or_else(|| {
                err(
                    "InvalidRevisionException",
                    "The S3 location of the revision is missing.",
                )
            })?;
            let bucket = s3.bucket.as_deref().unwrap_or("");
            let key = s3.key.as_deref().unwrap_or("");
            if bucket.is_empty() || key.is_empty() {
                return Err(err(
                    "InvalidRevisionException",
                    "An S3 revision needs a bucket and a key.",
                ));
            }
            let bundle = match s3.bundle_type {
                Some(BundleType::Zip) => "zip",
                Some(BundleType::Tar) => "tar",
                Some(BundleType::Tgz) => "tgz",
                Some(_) => {
                    return Err(err(
                        "InvalidRevisionException",
                        "The bundle type of an EC2/On-premises revision must be zip, tar or tgz.",
                    ));
                }
                None => {
                    return Err(err(
                        "InvalidRevisionException",
                        "The bundle type of the S3 revision is missing (zip, tar or tgz).",
                    ));
                }
            };
            Ok(format!(
                "s3\n{bucket}\n{key}\n{bundle}\n{}\n{}",
                s3.version.as_deref().unwrap_or(""),
                s3.e_tag.as_deref().unwrap_or("").trim_matches('"')
            ))
        }
        Some(RevisionLocationType::GitHub) => match crate::codecommit::local_repository(r) {
            Some((repo, commit)) if !commit.is_empty() => Ok(format!("git\n{repo}\n{commit}")),
            Some(_) => Err(err(
                "InvalidRevisionException",
                "The revision's commitId is missing.",
            )),
            None => Err(AwsError::new(
                "NotImplementedException",
                "GitHub revisions are not implemented by Ferry; name a Ferry repository (no owner) or use an S3 revision.",
            )),
        },
        Some(other) => Err(AwsError::new(
            "NotImplementedException",
            format!("{other:?} revisions are not implemented by Ferry; use an S3 revision."),
        )),
    }
}

impl DeployApi {
    pub(crate) async fn require_application(
        &self,
        name: &str,
    ) -> Result<ApplicationInfo, AwsError> {
        check_app_name(name)?;
        let doc = self.0.store.application(name).await.map_err(internal)?;
        doc.and_then(|d| serde_json::from_str(&d).ok())
            .ok_or_else(|| app_missing(name))
    }

    pub(crate) async fn create_application_op(
        &self,
        input: CreateApplicationInput,
    ) -> Result<CreateApplicationOutput, AwsError> {
        check_app_name(&input.application_name)?;
        let id = uuid::Uuid::new_v4().to_string();
        let info = ApplicationInfo {
            application_id: Some(id.clone()),
            application_name: Some(input.application_name.clone()),
            create_time: Some(now()),
            linked_to_git_hub: Some(false),
            compute_platform: Some(input.compute_platform.unwrap_or(ComputePlatform::Server)),
            ..Default::default()
        };
        match self
            .0
            .store
            .create_application(
                &input.application_name,
                &serde_json::to_string(&info).unwrap_or_default(),
                now().millis(),
            )
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(err(
                    "ApplicationAlreadyExistsException",
                    format!("{} already exists in your account", input.application_name),
                ));
            }
            Err(e) => return Err(internal(e)),
        }
        if let Some(tags) = &input.tags {
            self.put_tags(
                &self
                    .0
                    .arn(&format!("application:{}", input.application_name)),
                tags,
            )
            .await?;
        }
        Ok(CreateApplicationOutput {
            application_id: Some(id),
        })
    }

    pub(crate) async fn batch_get_applications_op(
        &self,
        input: BatchGetApplicationsInput,
    ) -> Result<BatchGetApplicationsOutput, AwsError> {
        if input.application_names.len() > 100 {
            return Err(err(
                "BatchLimitExceededException",
                "The maximum number of names or IDs allowed for this request (100) was exceeded.",
            ));
        }
        let mut out = Vec::new();
        for n in &input.application_names {
            out.push(self.require_application(n).await?);
        }
        Ok(BatchGetApplicationsOutput {
            applications_info: Some(out),
        })
    }

    pub(crate) async fn update_application_op(
        &self,
        input: UpdateApplicationInput,
    ) -> Result<(), AwsError> {
        let name = input.application_name.clone().unwrap_or_default();
        let mut info = self.require_application(&name).await?;
        let Some(new) = input.new_application_name.filter(|n| *n != name) else {
            return Ok(());
        };
        check_app_name(&new)?;
        info.application_name = Some(new.clone());
        match self
            .0
            .store
            .rename_application(
                &name,
                &new,
                &serde_json::to_string(&info).unwrap_or_default(),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(err(
                "ApplicationAlreadyExistsException",
                format!("{new} already exists in your account"),
            )),
            Err(StoreError::NotFound) => Err(app_missing(&name)),
            Err(e) => Err(internal(e)),
        }
    }

    pub(crate) async fn delete_application_op(
        &self,
        input: DeleteApplicationInput,
    ) -> Result<(), AwsError> {
        check_app_name(&input.application_name)?;
        self.0
            .store
            .delete_application(&input.application_name)
            .await
            .map_err(internal)?;
        Ok(())
    }

    pub(crate) async fn list_applications_op(
        &self,
        input: ListApplicationsInput,
    ) -> Result<ListApplicationsOutput, AwsError> {
        let names = self.0.store.application_names().await.map_err(internal)?;
        let (names, next) = page(
            names.into_iter().map(|n| (n.clone(), n)).collect(),
            input.next_token.as_deref(),
            PAGE,
        )?;
        Ok(ListApplicationsOutput {
            applications: Some(names),
            next_token: next,
        })
    }

    // --- deployment groups ---------------------------------------------------------------------

    pub(crate) async fn require_group(
        &self,
        app: &str,
        name: &str,
    ) -> Result<DeploymentGroupInfo, AwsError> {
        if name.is_empty() {
            return Err(err(
                "DeploymentGroupNameRequiredException",
                "The deployment group name was not specified.",
            ));
        }
        let doc = self
            .0
            .store
            .deployment_group(app, name)
            .await
            .map_err(internal)?;
        doc.and_then(|d| serde_json::from_str(&d).ok())
            .ok_or_else(|| {
                err(
                    "DeploymentGroupDoesNotExistException",
                    format!("No Deployment Group found for name: {name}"),
                )
            })
    }

    fn check_group_shape(
        ec2_filters: bool,
        ec2_set: bool,
        onprem_filters: bool,
        onprem_set: bool,
    ) -> Result<(), AwsError> {
        if ec2_filters && ec2_set {
            return Err(err(
                "InvalidEC2TagCombinationException",
                "The EC2 tag filters and the EC2 tag set cannot both be specified.",
            ));
        }
        if onprem_filters && onprem_set {
            return Err(err(
                "InvalidOnPremisesTagCombinationException",
                "The on-premises instance tag filters and the on-premises tag set cannot both be specified.",
            ));
        }
        Ok(())
    }

    pub(crate) async fn create_deployment_group_op(
        &self,
        input: CreateDeploymentGroupInput,
    ) -> Result<CreateDeploymentGroupOutput, AwsError> {
        let app = self.require_application(&input.application_name).await?;
        if app.compute_platform.unwrap_or_default() != ComputePlatform::Server {
            return Err(AwsError::new(
                "NotImplementedException",
                "Deployment groups of the Lambda and ECS compute platforms are not implemented by Ferry.",
            ));
        }
        if !valid_name(&input.deployment_group_name) {
            return Err(err(
                "InvalidDeploymentGroupNameException",
                "The deployment group name was specified in an invalid format.",
            ));
        }
        if input.service_role_arn.is_empty() {
            return Err(err(
                "RoleRequiredException",
                "The role ID was not specified.",
            ));
        }
        Self::check_group_shape(
            input
                .ec2_tag_filters
                .as_ref()
                .is_some_and(|v| !v.is_empty()),
            input.ec2_tag_set.is_some(),
            input
                .on_premises_instance_tag_filters
                .as_ref()
                .is_some_and(|v| !v.is_empty()),
            input.on_premises_tag_set.is_some(),
        )?;
        let config = input
            .deployment_config_name
            .clone()
            .unwrap_or_else(|| health::DEFAULT_CONFIG.to_owned());
        self.require_config(&config).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let info = DeploymentGroupInfo {
            application_name: Some(input.application_name.clone()),
            deployment_group_id: Some(id.clone()),
            deployment_group_name: Some(input.deployment_group_name.clone()),
            deployment_config_name: Some(config),
            ec2_tag_filters: Some(input.ec2_tag_filters.unwrap_or_default()),
            on_premises_instance_tag_filters: Some(
                input.on_premises_instance_tag_filters.unwrap_or_default(),
            ),
            auto_scaling_groups: Some(Vec::new()),
            service_role_arn: Some(input.service_role_arn),
            trigger_configurations: Some(input.trigger_configurations.unwrap_or_default()),
            alarm_configuration: Some(input.alarm_configuration.unwrap_or(AlarmConfiguration {
                enabled: Some(false),
                ignore_poll_alarm_failure: Some(false),
                alarms: Some(Vec::new()),
            })),
            auto_rollback_configuration: input.auto_rollback_configuration,
            deployment_style: Some(input.deployment_style.unwrap_or(DeploymentStyle {
                deployment_type: Some(DeploymentType::InPlace),
                deployment_option: Some(DeploymentOption::WithoutTrafficControl),
            })),
            outdated_instances_strategy: Some(
                input
                    .outdated_instances_strategy
                    .unwrap_or(OutdatedInstancesStrategy::Update),
            ),
            blue_green_deployment_configuration: input.blue_green_deployment_configuration,
            load_balancer_info: input.load_balancer_info,
            ec2_tag_set: input.ec2_tag_set,
            on_premises_tag_set: input.on_premises_tag_set,
            compute_platform: Some(ComputePlatform::Server),
            termination_hook_enabled: Some(input.termination_hook_enabled.unwrap_or(false)),
            ..Default::default()
        };
        match self
            .0
            .store
            .create_deployment_group(
                &input.application_name,
                &input.deployment_group_name,
                &id,
                &serde_json::to_string(&info).unwrap_or_default(),
            )
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(err(
                    "DeploymentGroupAlreadyExistsException",
                    format!(
                        "Deployment Group already exists with name {}",
                        input.deployment_group_name
                    ),
                ));
            }
            Err(e) => return Err(internal(e)),
        }
        if let Some(tags) = &input.tags {
            self.put_tags(
                &self.0.arn(&format!(
                    "deploymentgroup:{}/{}",
                    input.application_name, input.deployment_group_name
                )),
                tags,
            )
            .await?;
        }
        Ok(CreateDeploymentGroupOutput {
            deployment_group_id: Some(id),
        })
    }

    pub(crate) async fn batch_get_deployment_groups_op(
        &self,
        input: BatchGetDeploymentGroupsInput,
    ) -> Result<BatchGetDeploymentGroupsOutput, AwsError> {
        self.require_application(&input.application_name).await?;
        if input.deployment_group_names.len() > 100 {
            return Err(err(
                "BatchLimitExceededException",
                "The maximum number of names or IDs allowed for this request (100) was exceeded.",
            ));
        }
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for n in &input.deployment_group_names {
            match self.require_group(&input.application_name, n).await {
                Ok(g) => found.push(g),
                Err(_) => missing.push(n.clone()),
            }
        }
        Ok(BatchGetDeploymentGroupsOutput {
            deployment_groups_info: Some(found),
            error_message: (!missing.is_empty())
                .then(|| format!("Deployment groups not found: {}", missing.join(", "))),
        })
    }

    pub(crate) async fn update_deployment_group_op(
        &self,
        input: UpdateDeploymentGroupInput,
    ) -> Result<UpdateDeploymentGroupOutput, AwsError> {
        self.require_application(&input.application_name).await?;
        let mut g = self
            .require_group(
                &input.application_name,
                &input.current_deployment_group_name,
            )
            .await?;
        let new_name = input
            .new_deployment_group_name
            .clone()
            .unwrap_or_else(|| input.current_deployment_group_name.clone());
        if !valid_name(&new_name) {
            return Err(err(
                "InvalidDeploymentGroupNameException",
                "The deployment group name was specified in an invalid format.",
            ));
        }
        if let Some(c) = &input.deployment_config_name {
            self.require_config(c).await?;
            g.deployment_config_name = Some(c.clone());
        }
        if let Some(v) = input.ec2_tag_filters {
            g.ec2_tag_filters = Some(v);
        }
        if let Some(v) = input.on_premises_instance_tag_filters {
            g.on_premises_instance_tag_filters = Some(v);
        }
        if let Some(v) = input.service_role_arn {
            g.service_role_arn = Some(v);
        }
        if let Some(v) = input.trigger_configurations {
            g.trigger_configurations = Some(v);
        }
        if let Some(v) = input.alarm_configuration {
            g.alarm_configuration = Some(v);
        }
        if let Some(v) = input.auto_rollback_configuration {
            g.auto_rollback_configuration = Some(v);
        }
        if let Some(v) = input.deployment_style {
            g.deployment_style = Some(v);
        }
        if let Some(v) = input.outdated_instances_strategy {
            g.outdated_instances_strategy = Some(v);
        }
        if let Some(v) = input.blue_green_deployment_configuration {
            g.blue_green_deployment_configuration = Some(v);
        }
        if let Some(v) = input.load_balancer_info {
            g.load_balancer_info = Some(v);
        }
        if let Some(v) = input.ec2_tag_set {
            g.ec2_tag_set = Some(v);
        }
        if let Some(v) = input.on_premises_tag_set {
            g.on_premises_tag_set = Some(v);
        }
        if let Some(v) = input.termination_hook_enabled {
            g.termination_hook_enabled = Some(v);
        }
        Self::check_group_shape(
            g.ec2_tag_filters.as_ref().is_some_and(|v| !v.is_empty()),
            g.ec2_tag_set.is_some(),
            g.on_premises_instance_tag_filters
                .as_ref()
                .is_some_and(|v| !v.is_empty()),
            g.on_premises_tag_set.is_some(),
        )?;
        g.deployment_group_name = Some(new_name.clone());
        match self
            .0
            .store
            .update_deployment_group(
                &input.application_name,
                &input.current_deployment_group_name,
                &new_name,
                &serde_json::to_string(&g).unwrap_or_default(),
            )
            .await
        {
            Ok(()) => Ok(UpdateDeploymentGroupOutput {
                hooks_not_cleaned_up: Some(Vec::new()),
            }),
            Err(StoreError::Conflict(_)) => Err(err(
                "DeploymentGroupAlreadyExistsException",
                format!("Deployment Group already exists with name {new_name}"),
            )),
            Err(e) => Err(internal(e)),
        }
    }

    pub(crate) async fn delete_deployment_group_op(
        &self,
        input: DeleteDeploymentGroupInput,
    ) -> Result<DeleteDeploymentGroupOutput, AwsError> {
        check_app_name(&input.application_name)?;
        self.0
            .store
            .delete_deployment_group(&input.application_name, &input.deployment_group_name)
            .await
            .map_err(internal)?;
        Ok(DeleteDeploymentGroupOutput {
            hooks_not_cleaned_up: Some(Vec::new()),
        })
    }

    pub(crate) async fn list_deployment_groups_op(
        &self,
        input: ListDeploymentGroupsInput,
    ) -> Result<ListDeploymentGroupsOutput, AwsError> {
        self.require_application(&input.application_name).await?;
        let names = self
            .0
            .store
            .deployment_group_names(&input.application_name)
            .await
            .map_err(internal)?;
        let (names, next) = page(
            names.into_iter().map(|n| (n.clone(), n)).collect(),
            input.next_token.as_deref(),
            PAGE,
        )?;
        Ok(ListDeploymentGroupsOutput {
            application_name: Some(input.application_name),
            deployment_groups: Some(names),
            next_token: next,
        })
    }

    // --- deployment configurations -------------------------------------------------------------

    pub(crate) async fn require_config(
        &self,
        name: &str,
    ) -> Result<DeploymentConfigInfo, AwsError> {
        if name.is_empty() {
            return Err(err(
                "DeploymentConfigNameRequiredException",
                "The deployment configuration name was not specified.",
            ));
        }
        if let Some(c) = health::predefined(name) {
            return Ok(c);
        }
        let doc = self
            .0
            .store
            .deployment_config(name)
            .await
            .map_err(internal)?;
        doc.and_then(|d| serde_json::from_str(&d).ok())
            .ok_or_else(|| {
                err(
                    "DeploymentConfigDoesNotExistException",
                    format!("No deployment configuration found for name: {name}"),
                )
            })
    }

    pub(crate) async fn create_deployment_config_op(
        &self,
        input: CreateDeploymentConfigInput,
    ) -> Result<CreateDeploymentConfigOutput, AwsError> {
        let name = &input.deployment_config_name;
        if !valid_name(name) || name.starts_with("CodeDeployDefault.") {
            return Err(err(
                "InvalidDeploymentConfigNameException",
                format!(
                    "The deployment configuration name was specified in an invalid format: {name}"
                ),
            ));
        }
        let platform = input.compute_platform.unwrap_or(ComputePlatform::Server);
        if platform != ComputePlatform::Server || input.traffic_routing_config.is_some() {
            return Err(AwsError::new(
                "NotImplementedException",
                "Deployment configurations of the Lambda and ECS compute platforms are not implemented by Ferry.",
            ));
        }
        if input.zonal_config.is_some() {
            return Err(AwsError::new(
                "NotImplementedException",
                "Zonal deployment configurations are not implemented by Ferry (on-premises instances have no availability zones).",
            ));
        }
        let Some(m) = &input.minimum_healthy_hosts else {
            return Err(err(
                "InvalidMinimumHealthyHostValueException",
                "The minimum healthy instance value was specified in an invalid format.",
            ));
        };
        let value = m.value.unwrap_or(-1);
        let ok = match m.r#type {
            Some(MinimumHealthyHostsType::HostCount) => value >= 0,
            Some(MinimumHealthyHostsType::FleetPercent) => (0..=99).contains(&value),
            None => false,
        };
        if !ok {
            return Err(err(
                "InvalidMinimumHealthyHostValueException",
                "The minimum healthy instance value was specified in an invalid format.",
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let info = DeploymentConfigInfo {
            deployment_config_id: Some(id.clone()),
            deployment_config_name: Some(name.clone()),
            minimum_healthy_hosts: input.minimum_healthy_hosts.clone(),
            create_time: Some(now()),
            compute_platform: Some(platform),
            ..Default::default()
        };
        match self
            .0
            .store
            .create_deployment_config(
                name,
                &serde_json::to_string(&info).unwrap_or_default(),
                now().millis(),
            )
            .await
        {
            Ok(()) => Ok(CreateDeploymentConfigOutput {
                deployment_config_id: Some(id),
            }),
            Err(StoreError::Conflict(_)) => Err(err(
                "DeploymentConfigAlreadyExistsException",
                format!("A deployment configuration with the name {name} already exists."),
            )),
            Err(e) => Err(internal(e)),
        }
    }

    pub(crate) async fn delete_deployment_config_op(
        &self,
        input: DeleteDeploymentConfigInput,
    ) -> Result<(), AwsError> {
        let name = &input.deployment_config_name;
        if health::predefined(name).is_some() {
            return Err(err(
                "InvalidOperationException",
                "Default deployment configurations cannot be deleted.",
            ));
        }
        for app in self.0.store.application_names().await.map_err(internal)? {
            for g in self
                .0
                .store
                .deployment_group_names(&app)
                .await
                .map_err(internal)?
            {
                if let Ok(info) = self.require_group(&app, &g).await
                    && info.deployment_config_name.as_deref() == Some(name)
                {
                    return Err(err(
                        "DeploymentConfigInUseException",
                        format!(
                            "The deployment configuration {name} is in use by deployment group {g}."
                        ),
                    ));
                }
            }
        }
        self.0
            .store
            .delete_deployment_config(name)
            .await
            .map_err(internal)?;
        Ok(())
    }

    pub(crate) async fn list_deployment_configs_op(
        &self,
        input: ListDeploymentConfigsInput,
    ) -> Result<ListDeploymentConfigsOutput, AwsError> {
        let mut names: Vec<String> = health::SERVER_DEFAULTS
            .iter()
            .chain(health::OTHER_DEFAULTS)
            .map(|s| (*s).to_owned())
            .collect();
        names.extend(
            self.0
                .store
                .deployment_config_names()
                .await
                .map_err(internal)?,
        );
        names.sort();
        let (names, next) = page(
            names.into_iter().map(|n| (n.clone(), n)).collect(),
            input.next_token.as_deref(),
            PAGE,
        )?;
        Ok(ListDeploymentConfigsOutput {
            deployment_configs_list: Some(names),
            next_token: next,
        })
    }

    // --- revisions -----------------------------------------------------------------------------

    pub(crate) async fn revision_info(
        &self,
        app: &str,
        r: &RevisionLocation,
    ) -> Result<Option<RevisionInfo>, AwsError> {
        let key = revision_key(r)?;
        let doc = self.0.store.revision(app, &key).await.map_err(internal)?;
        Ok(doc.and_then(|d| serde_json::from_str(&d).ok()))
    }

    /// Records a revision's use (registering it if new), by `group` when given.
    pub(crate) async fn touch_revision(
        &self,
        app: &str,
        r: &RevisionLocation,
        description: Option<String>,
        group: Option<&str>,
    ) -> Result<(), AwsError> {
        let key = revision_key(r)?;
        let at = now();
        let mut info = self
            .revision_info(app, r)
            .await?
            .unwrap_or_else(|| RevisionInfo {
                revision_location: Some(r.clone()),
                generic_revision_info: Some(GenericRevisionInfo {
                    register_time: Some(at),
                    deployment_groups: Some(Vec::new()),
                    ..Default::default()
                }),
            });
        let g = info
            .generic_revision_info
            .get_or_insert_with(Default::default);
        if description.is_some() {
            g.description = description;
        }
        if let Some(group) = group {
            let groups = g.deployment_groups.get_or_insert_with(Vec::new);
            if !groups.iter().any(|x| x == group) {
                groups.push(group.to_owned());
            }
            g.first_used_time.get_or_insert(at);
            g.last_used_time = Some(at);
        }
        let registered = g.register_time.unwrap_or(at).millis();
        self.0
            .store
            .put_revision(
                app,
                &key,
                &serde_json::to_string(&info).unwrap_or_default(),
                registered,
            )
            .await
            .map_err(internal)
    }

    pub(crate) async fn register_application_revision_op(
        &self,
        input: RegisterApplicationRevisionInput,
    ) -> Result<(), AwsError> {
        self.require_application(&input.application_name).await?;
        if input.description.as_ref().is_some_and(|d| d.len() > 256) {
            return Err(err(
                "DescriptionTooLongException",
                "The description is too long.",
            ));
        }
        let revision = if crate::codecommit::local_repository(&input.revision).is_some() {
            crate::codecommit::prepare(&self.0, &input.revision).await?
        } else {
            input.revision
        };
        self.touch_revision(&input.application_name, &revision, input.description, None)
            .await
    }

    pub(crate) async fn get_application_revision_op(
        &self,
        input: GetApplicationRevisionInput,
    ) -> Result<GetApplicationRevisionOutput, AwsError> {
        self.require_application(&input.application_name).await?;
        let info = self
            .revision_info(&input.application_name, &input.revision)
            .await?
            .ok_or_else(|| {
                err(
                    "RevisionDoesNotExistException",
                    "The named revision does not exist with the user or AWS account.",
                )
            })?;
        Ok(GetApplicationRevisionOutput {
            application_name: Some(input.application_name),
            revision: info.revision_location,
            revision_info: info.generic_revision_info,
        })
    }

    pub(crate) async fn batch_get_application_revisions_op(
        &self,
        input: BatchGetApplicationRevisionsInput,
    ) -> Result<BatchGetApplicationRevisionsOutput, AwsError> {
        self.require_application(&input.application_name).await?;
        if input.revisions.len() > 25 {
            return Err(err(
                "BatchLimitExceededException",
                "The maximum number of names or IDs allowed for this request (25) was exceeded.",
            ));
        }
        let mut out = Vec::new();
        for r in &input.revisions {
            if let Some(i) = self.revision_info(&input.application_name, r).await? {
                out.push(i);
            }
        }
        Ok(BatchGetApplicationRevisionsOutput {
            application_name: Some(input.application_name),
            error_message: None,
            revisions: Some(out),
        })
    }

    pub(crate) async fn list_application_revisions_op(
        &self,
        input: ListApplicationRevisionsInput,
    ) -> Result<ListApplicationRevisionsOutput, AwsError> {
        self.require_application(&input.application_name).await?;
        if input.s3_key_prefix.is_some() && input.s3_bucket.is_none() {
            return Err(err(
                "BucketNameFilterRequiredException",
                "A bucket name is required, but was not provided.",
            ));
        }
        let docs = self
            .0
            .store
            .revisions(&input.application_name)
            .await
            .map_err(internal)?;
        let mut infos: Vec<RevisionInfo> = docs
            .iter()
            .filter_map(|d| serde_json::from_str(d).ok())
            .filter(|i: &RevisionInfo| {
                let s3 = i
                    .revision_location
                    .as_ref()
                    .and_then(|r| r.s3_location.as_ref());
                let bucket_ok = input
                    .s3_bucket
                    .as_ref()
                    .is_none_or(|b| s3.and_then(|s| s.bucket.as_ref()) == Some(b));
                let prefix_ok = input.s3_key_prefix.as_ref().is_none_or(|p| {
                    s3.and_then(|s| s.key.as_deref())
                        .is_some_and(|k| k.starts_with(p.as_str()))
                });
                let used = i
                    .generic_revision_info
                    .as_ref()
                    .and_then(|g| g.first_used_time)
                    .is_some();
                let deployed_ok = match input.deployed {
                    Some(ListStateFilterAction::Include) => used,
                    Some(ListStateFilterAction::Exclude) => !used,
                    _ => true,
                };
                bucket_ok && prefix_ok && deployed_ok
            })
            .collect();
        let time = |i: &RevisionInfo| {
            let g = i.generic_revision_info.clone().unwrap_or_default();
            match input.sort_by {
                Some(ApplicationRevisionSortBy::FirstUsedTime) => g.first_used_time,
                Some(ApplicationRevisionSortBy::LastUsedTime) => g.last_used_time,
                _ => g.register_time,
            }
            .map_or(0, |t| t.millis())
        };
        infos.sort_by_key(time);
        if input.sort_order == Some(SortOrder::Descending) {
            infos.reverse();
        }
        let keyed: Vec<(String, RevisionLocation)> = infos
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| Some((format!("{i:010}"), r.revision_location?)))
            .collect();
        let (revs, next) = page(keyed, input.next_token.as_deref(), PAGE)?;
        Ok(ListApplicationRevisionsOutput {
            revisions: Some(revs),
            next_token: next,
        })
    }

    // --- tags ----------------------------------------------------------------------------------

    async fn put_tags(&self, arn: &str, tags: &[Tag]) -> Result<(), AwsError> {
        let map: BTreeMap<String, String> = tags
            .iter()
            .map(|t| {
                (
                    t.key.clone().unwrap_or_default(),
                    t.value.clone().unwrap_or_default(),
                )
            })
            .collect();
        self.0
            .store
            .put_tags(arn, &map, 50)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => err("InvalidTagsToAddException", "Too many tags."),
                e => internal(e),
            })
    }

    /// Checks that a taggable resource (application or deployment group) exists.
    async fn require_taggable(&self, arn: &str) -> Result<(), AwsError> {
        let prefix = self.0.arn("");
        let rest = arn.strip_prefix(&prefix).ok_or_else(|| {
            err(
                "InvalidArnException",
                format!("The specified ARN is not in a valid format: {arn}"),
            )
        })?;
        if let Some(app) = rest.strip_prefix("application:") {
            self.require_application(app).await?;
            Ok(())
        } else if let Some(pair) = rest.strip_prefix("deploymentgroup:") {
            let (app, group) = pair.split_once('/').unwrap_or((pair, ""));
            self.require_group(app, group).await?;
            Ok(())
        } else {
            Err(err(
                "ResourceArnRequiredException",
                format!("Tags are supported on applications and deployment groups: {arn}"),
            ))
        }
    }

    pub(crate) async fn tag_resource_op(
        &self,
        input: TagResourceInput,
    ) -> Result<TagResourceOutput, AwsError> {
        self.require_taggable(&input.resource_arn).await?;
        self.put_tags(&input.resource_arn, &input.tags).await?;
        Ok(TagResourceOutput {})
    }

    pub(crate) async fn untag_resource_op(
        &self,
        input: UntagResourceInput,
    ) -> Result<UntagResourceOutput, AwsError> {
        self.require_taggable(&input.resource_arn).await?;
        self.0
            .store
            .remove_tags(&input.resource_arn, &input.tag_keys)
            .await
            .map_err(internal)?;
        Ok(UntagResourceOutput {})
    }

    pub(crate) async fn list_tags_for_resource_op(
        &self,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, AwsError> {
        self.require_taggable(&input.resource_arn).await?;
        let tags = self
            .0
            .store
            .tags(&input.resource_arn)
            .await
            .map_err(internal)?;
        Ok(ListTagsForResourceOutput {
            tags: Some(
                tags.into_iter()
                    .map(|(k, v)| Tag {
                        key: Some(k),
                        value: Some(v),
                    })
                    .collect(),
            ),
            next_token: None,
        })
    }
}
