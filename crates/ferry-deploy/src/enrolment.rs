//! Registration with a token (a Ferry extension): a `ferry agent` started with a registration
//! token an operator minted (`ferry admin create-agent-token`) and no AWS credentials sends
//! `{token, instanceName}` to `POST /ferry/agent/register`. Ferry spends one use of the token,
//! makes the IAM user `codedeploy-<instanceName>` (as `aws deploy register` would), registers
//! the on-premises instance under that user's ARN and answers with a fresh access key for it,
//! which the agent keeps and signs with from then on. A failed registration gives the use back
//! and leaves no user or key behind.

use ferry_model::codedeploy::RegisterOnPremisesInstanceInput;
use ferry_store::StoreError;
use ferry_wire::AwsError;
use serde::{Deserialize, Serialize};

use crate::api::{DeployApi, err, internal};
use crate::instances::check_instance_name;

/// The path agents post their registration to.
pub const REGISTER_PATH: &str = "/ferry/agent/register";

/// The prefix of the IAM user made for each instance registered with a token.
pub const USER_PREFIX: &str = "codedeploy-";

/// What the agent sends.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRegistration {
    pub token: String,
    pub instance_name: String,
}

/// What the agent gets: its identity and the key to sign with.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrolled {
    pub instance_name: String,
    pub iam_user_arn: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

fn bad_token() -> AwsError {
    AwsError::new(
        "AccessDeniedException",
        "The registration token is unknown, expired or used up.",
    )
    .with_status(403)
}

impl DeployApi {
    /// Registers `req.instance_name` with a token; see the module header.
    pub async fn register_with_token(&self, req: TokenRegistration) -> Result<Enrolled, AwsError> {
        check_instance_name(&req.instance_name)?;
        let user = format!("{USER_PREFIX}{}", req.instance_name);
        if user.len() > 64 {
            return Err(err(
                "InvalidInstanceNameException",
                format!(
                    "An instance registered with a token needs a name of at most {} characters.",
                    64 - USER_PREFIX.len()
                ),
            ));
        }
        let store = &self.0.store;
        if !store
            .spend_agent_token(&req.token)
            .await
            .map_err(internal)?
        {
            return Err(bad_token());
        }
        match self.enrol(&req.instance_name, &user).await {
            Ok(done) => Ok(done),
            Err(e) => {
                if let Err(refund) = store.refund_agent_token(&req.token).await {
                    tracing::warn!(error = %refund, "could not give back a registration token's use");
                }
                Err(e)
            }
        }
    }

    async fn enrol(&self, instance: &str, user: &str) -> Result<Enrolled, AwsError> {
        let store = &self.0.store;
        let (arn, created) = match store.user(user).await {
            Ok(p) => (p.arn, false),
            Err(StoreError::NotFound) => {
                (store.create_user(user).await.map_err(internal)?.arn, true)
            }
            Err(e) => return Err(internal(e)),
        };
        let registered = self
            .register_instance_op(RegisterOnPremisesInstanceInput {
                instance_name: instance.to_owned(),
                iam_user_arn: Some(arn.clone()),
                iam_session_arn: None,
            })
            .await;
        if let Err(e) = registered {
            if created {
                let _ = store.delete_user(user).await;
            }
            return Err(e);
        }
        // The keys an earlier registration of this name handed out die with it.
        for old in store.access_keys_of(user).await.map_err(internal)? {
            store
                .delete_access_key(user, &old.access_key_id)
                .await
                .map_err(internal)?;
        }
        let (access_key_id, secret_access_key) =
            store.create_access_key(user).await.map_err(internal)?;
        tracing::info!(
            instance,
            user,
            "on-premises instance registered with a token"
        );
        Ok(Enrolled {
            instance_name: instance.to_owned(),
            iam_user_arn: arn,
            access_key_id,
            secret_access_key,
        })
    }
}
