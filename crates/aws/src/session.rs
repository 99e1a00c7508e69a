//! Connecting to AWS: credentials, region, role assumption, endpoint override, identity.

use std::future::Future;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};

use crate::error::{api_error, AwsError, Result};

/// The retry policy of every client: the SDK's standard mode (throttling, transient and
/// 5xx errors retried with exponential backoff and jitter), up to 5 attempts.
pub fn default_retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(5)
}

/// Default tag key that marks a resource as protected (see [`crate::Guardrails::protected_tag_key`]).
pub const DEFAULT_PROTECTED_TAG_KEY: &str = "firebreak:protected";

/// How to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Shared-config profile.
    pub profile: Option<String>,
    /// Region (else the profile's / environment's, else `us-east-1`).
    pub region: Option<String>,
    /// Role to assume in the affected account (`sts:AssumeRole`, session name
    /// [`role_session_name`]).
    pub role_arn: Option<String>,
    /// External ID for the role.
    pub external_id: Option<String>,
    /// Endpoint override (a local moto server in tests); also read natively by the SDK from
    /// `AWS_ENDPOINT_URL`. S3 uses path-style addressing when set.
    pub endpoint_url: Option<String>,
    /// Static credentials (access key id, secret) instead of the default chain.
    pub static_credentials: Option<(String, String)>,
}

/// Who the caller is (from `sts:GetCallerIdentity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdentity {
    /// Account id.
    pub account: String,
    /// Caller ARN.
    pub arn: String,
    /// Unique user id.
    pub user_id: String,
}

/// A configured connection to one account and region, with its own async runtime.
/// Every public method is synchronous.
pub struct Session {
    runtime: tokio::runtime::Runtime,
    config: SdkConfig,
    identity: CallerIdentity,
    region: String,
    path_style_s3: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("identity", &self.identity).field("region", &self.region).finish()
    }
}

fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https()
}

impl Session {
    /// Builds the SDK configuration (assuming the role when asked) and calls
    /// `sts:GetCallerIdentity`.
    pub fn connect(options: &ConnectOptions) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| AwsError::Config(format!("cannot start the async runtime: {err}")))?;
        let (config, identity) = runtime.block_on(Self::configure(options))?;
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        let path_style_s3 = options.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        Ok(Self { runtime, config, identity, region, path_style_s3 })
    }

    async fn configure(options: &ConnectOptions) -> Result<(SdkConfig, CallerIdentity)> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .retry_config(default_retry_config());
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some((key, secret)) = &options.static_credentials {
            loader = loader.credentials_provider(Credentials::new(key, secret, None, None, "firebreak-static"));
        }
        let mut config = loader.load().await;
        if config.region().is_none() {
            config = config.into_builder().region(Region::new("us-east-1")).build();
        }
        if let Some(role_arn) = &options.role_arn {
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn.clone())
                .session_name(role_session_name())
                .configure(&config);
            if let Some(external_id) = &options.external_id {
                builder = builder.external_id(external_id.clone());
            }
            let provider = builder.build().await;
            config = config
                .into_builder()
                .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
                .build();
        }
        let sts = aws_sdk_sts::Client::new(&config);
        let out = sts.get_caller_identity().send().await.map_err(|err| api_error("sts:GetCallerIdentity", err))?;
        let identity = CallerIdentity {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
            user_id: out.user_id().unwrap_or_default().to_string(),
        };
        Ok((config, identity))
    }

    /// Wraps an SDK configuration built elsewhere (a replay HTTP client in tests, an
    /// embedding program) with a known identity; no AWS call is made.
    pub fn from_config(config: SdkConfig, identity: CallerIdentity) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| AwsError::Config(format!("cannot start the async runtime: {err}")))?;
        let config = match config.sleep_impl() {
            Some(_) => config,
            // Retries need a sleep implementation for their backoff.
            None => match aws_smithy_async::rt::sleep::default_async_sleep() {
                Some(sleep) => config.into_builder().sleep_impl(sleep).build(),
                None => config,
            },
        };
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        Ok(Self { runtime, config, identity, region, path_style_s3: false })
    }

    /// The caller's identity.
    pub fn identity(&self) -> &CallerIdentity {
        &self.identity
    }

    /// The region acted in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The SDK configuration (for independent reads, e.g. in tests).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// Runs a future on the session's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Refuses when `expected` (an account id) differs from the caller's account.
    pub fn check_account(&self, expected: Option<&str>) -> Result<()> {
        match expected {
            Some(account) if account != self.identity.account => Err(AwsError::AccountMismatch {
                expected: account.to_string(),
                actual: self.identity.account.clone(),
                arn: self.identity.arn.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// IAM client.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }
    /// EC2 client.
    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.config)
    }
    /// Auto Scaling client.
    pub fn autoscaling(&self) -> aws_sdk_autoscaling::Client {
        aws_sdk_autoscaling::Client::new(&self.config)
    }
    /// Classic load balancing client.
    pub fn elb(&self) -> aws_sdk_elasticloadbalancing::Client {
        aws_sdk_elasticloadbalancing::Client::new(&self.config)
    }
    /// ELBv2 client.
    pub fn elbv2(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.config)
    }
    /// CloudTrail client.
    pub fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(&self.config)
    }
    /// Q Business client.
    pub fn qbusiness(&self) -> aws_sdk_qbusiness::Client {
        aws_sdk_qbusiness::Client::new(&self.config)
    }
    /// S3 client (path-style addressing when an endpoint override is in use).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config).force_path_style(self.path_style_s3).build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

/// The session name of an assumed role: `firebreak-<user>` (the local user from `USER`
/// or `USERNAME`, so the affected account's CloudTrail shows who responded), else
/// `firebreak-response`. Characters STS refuses become `_`; at most 64 characters.
pub fn role_session_name() -> String {
    let user = std::env::var("USER").ok().filter(|u| !u.trim().is_empty()).or_else(|| std::env::var("USERNAME").ok());
    session_name_for(user.as_deref())
}

fn session_name_for(user: Option<&str>) -> String {
    let user = user.map(str::trim).filter(|u| !u.is_empty()).unwrap_or("response");
    let cleaned: String = user
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) { c } else { '_' })
        .collect();
    format!("firebreak-{cleaned}").chars().take(64).collect()
}

/// Extracts the account id from an ARN (`arn:aws:iam::123456789012:role/x`), if any.
pub fn account_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    let account = parts.nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_session_names() {
        assert_eq!(session_name_for(Some("alice")), "firebreak-alice");
        assert_eq!(session_name_for(Some("DOMAIN\\bob smith")), "firebreak-DOMAIN_bob_smith");
        assert_eq!(session_name_for(None), "firebreak-response");
        assert_eq!(session_name_for(Some("  ")), "firebreak-response");
        assert_eq!(session_name_for(Some(&"x".repeat(100))).len(), 64);
    }

    #[test]
    fn arn_accounts() {
        assert_eq!(account_of_arn("arn:aws:iam::123456789012:role/x"), Some("123456789012"));
        assert_eq!(account_of_arn("arn:aws:iam::aws:policy/AdministratorAccess"), None);
        assert_eq!(account_of_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(account_of_arn("not-an-arn"), None);
    }
}
