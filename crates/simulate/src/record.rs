//! The shape of one CloudTrail record, serialised with the key order real logs use.

use serde::Serialize;
use serde_json::Value;

/// `userIdentity.sessionContext.sessionIssuer`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionIssuer {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub principal_id: String,
    pub arn: String,
    pub account_id: String,
    pub user_name: String,
}

/// `userIdentity.sessionContext.attributes`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionAttributes {
    pub creation_date: String,
    pub mfa_authenticated: &'static str,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<SessionIssuer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_id_federation_data: Option<Value>,
    pub attributes: SessionAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2_role_delivery: Option<&'static str>,
}

/// `userIdentity`, for every identity type the simulator produces.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserIdentity {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_context: Option<SessionContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

/// One entry of `resources`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Resource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "ARN")]
    pub arn: String,
}

/// `tlsDetails`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TlsDetails {
    pub tls_version: &'static str,
    pub cipher_suite: &'static str,
    pub client_provided_host_header: String,
}

/// One CloudTrail record.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record {
    pub event_version: &'static str,
    pub user_identity: UserIdentity,
    pub event_time: String,
    pub event_source: &'static str,
    pub event_name: &'static str,
    pub aws_region: &'static str,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub request_parameters: Value,
    pub response_elements: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
    pub event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<&'static str>,
    pub management_event: bool,
    pub recipient_account_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<String>,
    #[serde(rename = "vpcEndpointId", skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
    pub event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_details: Option<TlsDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_credential_from_console: Option<&'static str>,
}

/// A record with the facts the generator needs to place it: when it happened and in
/// which account (index into the world) it is delivered.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// Unix seconds of `eventTime`.
    pub time: i64,
    /// Index of the delivering account in the world.
    pub account: usize,
    /// The record itself.
    pub record: Record,
}

/// The `eventVersion` a service writes: stable per service, as in real trails.
pub(crate) fn event_version_for(event_source: &str, data_event: bool) -> &'static str {
    if data_event {
        return "1.10";
    }
    match event_source {
        "signin.amazonaws.com" => "1.09",
        "iam.amazonaws.com" | "ec2.amazonaws.com" | "s3.amazonaws.com" => "1.09",
        "qbusiness.amazonaws.com" | "q.amazonaws.com" | "bedrock.amazonaws.com" => "1.11",
        "sts.amazonaws.com" | "ssm.amazonaws.com" | "secretsmanager.amazonaws.com" => "1.08",
        "cloudtrail.amazonaws.com" | "guardduty.amazonaws.com" => "1.10",
        _ => "1.08",
    }
}

/// The host header a client sends for `event_source` in `region`.
pub(crate) fn host_header(event_source: &str, region: &str) -> String {
    let service = event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source);
    match service {
        "iam" => "iam.amazonaws.com".to_string(),
        "signin" => "signin.aws.amazon.com".to_string(),
        "organizations" | "account" => format!("{service}.us-east-1.amazonaws.com"),
        "sts" if region == "us-east-1" => "sts.amazonaws.com".to_string(),
        "q" => format!("q.{region}.amazonaws.com"),
        "bedrock" => format!("bedrock.{region}.amazonaws.com"),
        _ => format!("{service}.{region}.amazonaws.com"),
    }
}

/// The EventBridge `source` for an event source (`aws.ec2` for `ec2.amazonaws.com`).
pub(crate) fn eventbridge_source(event_source: &str) -> String {
    let service = event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source);
    format!("aws.{service}")
}
