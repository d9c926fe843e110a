//! On-premises instances: registration under an IAM user or session ARN (the identity its
//! agent signs with), deregistration, tags, reads and listing.

use ferry_model::codedeploy::*;
use ferry_store::StoreError;
use ferry_store::deploys::InstanceRow;
use ferry_wire::AwsError;

use crate::api::{DeployApi, err, internal, page};
use crate::selection::{Filter, Selection};
use crate::service::now;

pub(crate) fn check_instance_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() {
        return Err(err(
            "InstanceNameRequiredException",
            "An on-premises instance name was not specified.",
        ));
    }
    let ok = name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+=,@".contains(c));
    if !ok {
        return Err(err(
            "InvalidInstanceNameException",
            format!("The on-premises instance name was specified in an invalid format: {name}"),
        ));
    }
    Ok(())
}

fn not_registered(name: &str) -> AwsError {
    err(
        "InstanceNotRegisteredException",
        format!("The specified on-premises instance is not registered: {name}"),
    )
}

impl DeployApi {
    pub(crate) async fn require_instance(&self, name: &str) -> Result<InstanceInfo, AwsError> {
        check_instance_name(name)?;
        let row = self.0.store.instance(name).await.map_err(internal)?;
        row.and_then(|r| serde_json::from_str(&r.document).ok())
            .ok_or_else(|| not_registered(name))
    }

    pub(crate) async fn register_instance_op(
        &self,
        input: RegisterOnPremisesInstanceInput,
    ) -> Result<(), AwsError> {
        check_instance_name(&input.instance_name)?;
        let (arn, session) = match (&input.iam_user_arn, &input.iam_session_arn) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "MultipleIamArnsProvidedException",
                    "Both an IAM user ARN and an IAM session ARN were included in the request. Use only one ARN type.",
                ));
            }
            (None, None) => {
                return Err(err(
                    "IamArnRequiredException",
                    "No IAM ARN was included in the request. You must use an IAM session ARN or user ARN in the request.",
                ));
            }
            (Some(u), None) => (u.clone(), false),
            (None, Some(s)) => (s.clone(), true),
        };
        let valid = arn.starts_with("arn:")
            && if session {
                arn.contains(":sts::") && arn.contains(":assumed-role/")
            } else {
                arn.contains(":iam::") && arn.contains(":user/")
            };
        if !valid {
            return Err(if session {
                err(
                    "InvalidIamSessionArnException",
                    "The IAM session ARN was specified in an invalid format.",
                )
            } else {
                err(
                    "InvalidIamUserArnException",
                    "The IAM user ARN was specified in an invalid format.",
                )
            });
        }
        let info = InstanceInfo {
            instance_name: Some(input.instance_name.clone()),
            iam_session_arn: session.then(|| arn.clone()),
            iam_user_arn: (!session).then(|| arn.clone()),
            instance_arn: Some(self.0.arn(&format!("instance/{}", input.instance_name))),
            register_time: Some(now()),
            deregister_time: None,
            tags: Some(Vec::new()),
        };
        let row = InstanceRow {
            name: input.instance_name.clone(),
            iam_arn: arn,
            registered: true,
            document: serde_json::to_string(&info).unwrap_or_default(),
            last_seen_ms: None,
        };
        match self.0.store.register_instance(&row).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(what)) if what == "name" => Err(err(
                "InstanceNameAlreadyRegisteredException",
                format!(
                    "The specified on-premises instance name is already registered: {}",
                    input.instance_name
                ),
            )),
            Err(StoreError::Conflict(_)) if session => Err(err(
                "IamSessionArnAlreadyRegisteredException",
                "The request included an IAM session ARN that has already been used to register a different instance.",
            )),
            Err(StoreError::Conflict(_)) => Err(err(
                "IamUserArnAlreadyRegisteredException",
                "The specified IAM user ARN is already registered with an on-premises instance.",
            )),
            Err(e) => Err(internal(e)),
        }
    }

    pub(crate) async fn deregister_instance_op(
        &self,
        input: DeregisterOnPremisesInstanceInput,
    ) -> Result<(), AwsError> {
        check_instance_name(&input.instance_name)?;
        let Some(row) = self
            .0
            .store
            .instance(&input.instance_name)
            .await
            .map_err(internal)?
        else {
            return Ok(());
        };
        if !row.registered {
            return Ok(());
        }
        let mut info: InstanceInfo = serde_json::from_str(&row.document).unwrap_or_default();
        info.deregister_time = Some(now());
        self.0
            .store
            .update_instance(
                &row.name,
                false,
                &serde_json::to_string(&info).unwrap_or_default(),
            )
            .await
            .map_err(internal)
    }

    pub(crate) async fn batch_get_instances_op(
        &self,
        input: BatchGetOnPremisesInstancesInput,
    ) -> Result<BatchGetOnPremisesInstancesOutput, AwsError> {
        if input.instance_names.len() > 100 {
            return Err(err(
                "BatchLimitExceededException",
                "The maximum number of names or IDs allowed for this request (100) was exceeded.",
            ));
        }
        let mut out = Vec::new();
        for n in &input.instance_names {
            check_instance_name(n)?;
            if let Some(row) = self.0.store.instance(n).await.map_err(internal)?
                && let Ok(info) = serde_json::from_str(&row.document)
            {
                out.push(info);
            }
        }
        Ok(BatchGetOnPremisesInstancesOutput {
            instance_infos: Some(out),
        })
    }

    pub(crate) async fn list_instances_op(
        &self,
        input: ListOnPremisesInstancesInput,
    ) -> Result<ListOnPremisesInstancesOutput, AwsError> {
        let want_registered = match input.registration_status {
            Some(RegistrationStatus::Deregistered) => Some(false),
            Some(RegistrationStatus::Registered) => Some(true),
            None => None,
        };
        let filters = input.tag_filters.unwrap_or_default();
        let selection = Selection::flat(filters.iter().map(Filter::from));
        let rows = self.0.store.instances().await.map_err(internal)?;
        let names: Vec<(String, String)> = rows
            .into_iter()
            .filter(|r| want_registered.is_none_or(|w| r.registered == w))
            .filter(|r| {
                filters.is_empty() || {
                    let info: InstanceInfo = serde_json::from_str(&r.document).unwrap_or_default();
                    selection.matches(&info.tags.unwrap_or_default())
                }
            })
            .map(|r| (r.name.clone(), r.name))
            .collect();
        let (names, next) = page(names, input.next_token.as_deref(), 100)?;
        Ok(ListOnPremisesInstancesOutput {
            instance_names: Some(names),
            next_token: next,
        })
    }

    /// Adds (`add`) or removes tags on instances.
    pub(crate) async fn retag_instances(
        &self,
        names: &[String],
        tags: &[Tag],
        add: bool,
    ) -> Result<(), AwsError> {
        if tags.is_empty() {
            return Err(err("TagRequiredException", "A tag was not specified."));
        }
        if names.is_empty() {
            return Err(err(
                "InstanceNameRequiredException",
                "An on-premises instance name was not specified.",
            ));
        }
        if names.len() > 100 {
            return Err(err(
                "InstanceLimitExceededException",
                "The maximum number of allowed on-premises instances in a single call was exceeded.",
            ));
        }
        let mut rows = Vec::new();
        for n in names {
            check_instance_name(n)?;
            let row = self
                .0
                .store
                .instance(n)
                .await
                .map_err(internal)?
                .filter(|r| r.registered)
                .ok_or_else(|| not_registered(n))?;
            rows.push(row);
        }
        for row in rows {
            let mut info: InstanceInfo = serde_json::from_str(&row.document).unwrap_or_default();
            let current = info.tags.get_or_insert_with(Vec::new);
            for t in tags {
                current.retain(|c| c.key != t.key);
                if add {
                    current.push(t.clone());
                }
            }
            if current.len() > 10 {
                return Err(err(
                    "TagLimitExceededException",
                    "The maximum allowed number of tags was exceeded.",
                ));
            }
            current.sort_by(|a, b| a.key.cmp(&b.key));
            self.0
                .store
                .update_instance(
                    &row.name,
                    true,
                    &serde_json::to_string(&info).unwrap_or_default(),
                )
                .await
                .map_err(internal)?;
        }
        Ok(())
    }
}
