//! Which resource an event touched and how: the field list and the change classes.
//!
//! Both are data ([`RESOURCE_FIELDS`], [`CHANGE_PREFIXES`]) so that a new service only
//! needs a new line.

use serde_json::Value;

/// How an API call changed a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// Created (`Create*`, `Run*`, `Put*`, `Import*`, `Allocate*`, `Register*`...).
    Created,
    /// Deleted or switched off (`Delete*`, `Terminate*`, `Remove*`, `Deregister*`,
    /// `Disable*`...).
    Deleted,
    /// Changed (`Update*`, `Modify*`, `Attach*`, `Detach*`, `Set*`, `Change*`...).
    Modified,
}

impl Change {
    /// `created`, `deleted` or `modified`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Deleted => "deleted",
            Change::Modified => "modified",
        }
    }
}

/// Event-name prefixes and the change they mean, checked in order; a prefix matches
/// when the name continues with an upper-case letter (or ends), so `Put` matches
/// `PutObject` but `Set` does not match `Settle`.
pub const CHANGE_PREFIXES: &[(&str, Change)] = &[
    ("BatchPut", Change::Created),
    ("BatchDelete", Change::Deleted),
    ("Create", Change::Created),
    ("Run", Change::Created),
    ("Import", Change::Created),
    ("Allocate", Change::Created),
    ("Register", Change::Created),
    ("Request", Change::Created),
    ("Copy", Change::Created),
    ("Upload", Change::Created),
    ("Delete", Change::Deleted),
    ("Terminate", Change::Deleted),
    ("Remove", Change::Deleted),
    ("Deregister", Change::Deleted),
    ("Disable", Change::Deleted),
    ("Release", Change::Deleted),
    ("Purge", Change::Deleted),
    ("Update", Change::Modified),
    ("Modify", Change::Modified),
    ("Attach", Change::Modified),
    ("Detach", Change::Modified),
    ("Set", Change::Modified),
    ("Change", Change::Modified),
    ("Associate", Change::Modified),
    ("Disassociate", Change::Modified),
    ("Authorize", Change::Modified),
    ("Revoke", Change::Modified),
    ("Enable", Change::Modified),
    ("Stop", Change::Modified),
    ("Start", Change::Modified),
    ("Reset", Change::Modified),
    ("Restore", Change::Modified),
    ("Replace", Change::Modified),
    ("Rotate", Change::Modified),
    ("Add", Change::Modified),
    ("Tag", Change::Modified),
    ("Untag", Change::Modified),
    ("Suspend", Change::Modified),
    ("Leave", Change::Modified),
    ("Put", Change::Created),
];

/// Event names whose prefix says otherwise: configuration put on an existing resource
/// is a modification, a scheduled deletion a deletion.
pub const CHANGE_EXCEPTIONS: &[(&str, Change)] = &[
    ("ScheduleKeyDeletion", Change::Deleted),
    ("CreateTags", Change::Modified),
    ("DeleteTags", Change::Modified),
    ("PutBucketPolicy", Change::Modified),
    ("PutBucketAcl", Change::Modified),
    ("PutBucketPublicAccessBlock", Change::Modified),
    ("PutBucketVersioning", Change::Modified),
    ("PutBucketLifecycle", Change::Modified),
    ("PutBucketLifecycleConfiguration", Change::Modified),
    ("PutBucketEncryption", Change::Modified),
    ("PutBucketLogging", Change::Modified),
    ("PutEventSelectors", Change::Modified),
    ("PutInsightSelectors", Change::Modified),
    ("PutAccountPublicAccessBlock", Change::Modified),
    ("PutUserPermissionsBoundary", Change::Modified),
    ("PutRolePermissionsBoundary", Change::Modified),
    ("PutContactInformation", Change::Modified),
    ("PutAlternateContact", Change::Modified),
];

/// How the call `event_name` changed what it names (`None`: it did not change anything
/// this classification knows, e.g. `Get*`, `List*`, `Describe*`).
pub fn classify(event_name: &str) -> Option<Change> {
    if let Some((_, change)) = CHANGE_EXCEPTIONS.iter().find(|(n, _)| *n == event_name) {
        return Some(*change);
    }
    CHANGE_PREFIXES.iter().find_map(|(prefix, change)| {
        let rest = event_name.strip_prefix(prefix)?;
        match rest.chars().next() {
            None => Some(*change),
            Some(c) if c.is_ascii_uppercase() => Some(*change),
            Some(_) => None,
        }
    })
}

/// A request or response field naming a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceField {
    /// The JSON key, at any depth of `requestParameters` / `responseElements`.
    pub key: &'static str,
    /// Only for this service (`eventSource`); `None`: any service.
    pub event_source: Option<&'static str>,
    /// What the value names (`iam:user`).
    pub resource_type: &'static str,
}

const fn field(key: &'static str, resource_type: &'static str) -> ResourceField {
    ResourceField {
        key,
        event_source: None,
        resource_type,
    }
}

const fn field_of(
    key: &'static str,
    event_source: &'static str,
    resource_type: &'static str,
) -> ResourceField {
    ResourceField {
        key,
        event_source: Some(event_source),
        resource_type,
    }
}

/// The fields that name resources. Service-specific entries come first and win.
pub const RESOURCE_FIELDS: &[ResourceField] = &[
    field_of("groupName", "ec2.amazonaws.com", "ec2:security-group"),
    field_of("keyName", "ec2.amazonaws.com", "ec2:key-pair"),
    field_of("name", "cloudtrail.amazonaws.com", "cloudtrail:trail"),
    field_of(
        "name",
        "secretsmanager.amazonaws.com",
        "secretsmanager:secret",
    ),
    field_of("name", "ssm.amazonaws.com", "ssm:parameter"),
    field_of("accessKeyId", "iam.amazonaws.com", "iam:access-key"),
    field_of("policyName", "iam.amazonaws.com", "iam:inline-policy"),
    field_of("serialNumber", "iam.amazonaws.com", "iam:mfa-device"),
    field_of("keyId", "kms.amazonaws.com", "kms:key"),
    field_of(
        "applicationId",
        "qbusiness.amazonaws.com",
        "qbusiness:application",
    ),
    field("bucketName", "s3:bucket"),
    field("userName", "iam:user"),
    field("roleName", "iam:role"),
    field("groupName", "iam:group"),
    field("policyArn", "iam:policy"),
    field("instanceProfileName", "iam:instance-profile"),
    field("samlProviderArn", "iam:saml-provider"),
    field("openIDConnectProviderArn", "iam:oidc-provider"),
    field("instanceId", "ec2:instance"),
    field("groupId", "ec2:security-group"),
    field("snapshotId", "ec2:snapshot"),
    field("imageId", "ec2:image"),
    field("volumeId", "ec2:volume"),
    field("allocationId", "ec2:elastic-ip"),
    field("flowLogId", "ec2:flow-log"),
    field("launchTemplateId", "ec2:launch-template"),
    field_of("resourceId", "ec2.amazonaws.com", "ec2:resource"),
    field("trailName", "cloudtrail:trail"),
    field("detectorId", "guardduty:detector"),
    field("configurationRecorderName", "config:recorder"),
    field(
        "resolverQueryLogConfigId",
        "route53resolver:query-log-config",
    ),
    field("hostedZoneId", "route53:hosted-zone"),
    field("indexId", "qbusiness:index"),
    field("retrieverId", "qbusiness:retriever"),
    field("dataSourceId", "qbusiness:data-source"),
    field("pluginId", "qbusiness:plugin"),
    field("webExperienceId", "qbusiness:web-experience"),
    field("dataAccessorId", "qbusiness:data-accessor"),
    field("guardrailIdentifier", "bedrock:guardrail"),
    field("dBSnapshotIdentifier", "rds:snapshot"),
    field("dBClusterSnapshotIdentifier", "rds:cluster-snapshot"),
    field("dBInstanceIdentifier", "rds:db-instance"),
    field("dBClusterIdentifier", "rds:cluster"),
    field("functionName", "lambda:function"),
    field("secretId", "secretsmanager:secret"),
    field("logGroupName", "logs:log-group"),
    field("topicArn", "sns:topic"),
    field("queueUrl", "sqs:queue"),
    field("stackName", "cloudformation:stack"),
    field("autoScalingGroupName", "autoscaling:group"),
    field("hubArn", "securityhub:hub"),
];

/// A resource an event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// The ARN, id or name.
    pub id: String,
    /// What it is (`iam:user`, `s3:bucket`...).
    pub resource_type: String,
}

/// Deepest JSON nesting walked for resource fields.
const MAX_DEPTH: usize = 12;

fn field_for(key: &str, event_source: &str) -> Option<&'static ResourceField> {
    RESOURCE_FIELDS
        .iter()
        .find(|f| f.key == key && f.event_source.is_none_or(|s| s == event_source))
}

fn walk(value: &Value, event_source: &str, depth: usize, out: &mut Vec<ResourceRef>) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if let Some(field) = field_for(key, event_source) {
                    let mut ids = Vec::new();
                    collect_strings(inner, &mut ids);
                    for id in ids {
                        push_unique(out, id, field.resource_type.to_string());
                    }
                } else {
                    walk(inner, event_source, depth + 1, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, event_source, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// A field's value: a string, or a list of strings (`"instanceIds": ["i-1", "i-2"]`).
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if !s.is_empty() => out.push(s.clone()),
        Value::Array(items) => {
            for item in items {
                if let Value::String(s) = item {
                    if !s.is_empty() {
                        out.push(s.clone());
                    }
                }
            }
        }
        _ => {}
    }
}

fn push_unique(out: &mut Vec<ResourceRef>, id: String, resource_type: String) {
    if !out.iter().any(|r| r.id == id) {
        out.push(ResourceRef { id, resource_type });
    }
}

/// `AWS::IAM::User` becomes `iam:user`.
fn type_from_cloudtrail(resource_type: &str) -> String {
    let trimmed = resource_type.strip_prefix("AWS::").unwrap_or(resource_type);
    trimmed.replace("::", ":").to_ascii_lowercase()
}

/// The resources an event names: the [`RESOURCE_FIELDS`] found in its request
/// parameters and response elements (JSON text; unparseable text is skipped), else the
/// `resources[]` entries (ARN and CloudTrail type).
pub fn extract(
    event_source: &str,
    request_parameters: Option<&str>,
    response_elements: Option<&str>,
    resources: &[(String, Option<String>)],
) -> Vec<ResourceRef> {
    let mut out = Vec::new();
    for text in [request_parameters, response_elements]
        .into_iter()
        .flatten()
    {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            walk(&value, event_source, 0, &mut out);
        }
    }
    if out.is_empty() {
        for (arn, resource_type) in resources {
            let resource_type = resource_type
                .as_deref()
                .map(type_from_cloudtrail)
                .unwrap_or_else(|| "unknown".to_string());
            push_unique(&mut out, arn.clone(), resource_type);
        }
    }
    out
}

/// Narrows `found` to the resources the call is about: when some resource types name
/// the noun of the event name (`CreateAccessKey` → `iam:access-key`, `RunInstances` →
/// `ec2:instance`), only those are kept, so the user a key is created for is not
/// reported as created too. Otherwise `found` is returned unchanged.
pub fn focus(event_name: &str, found: Vec<ResourceRef>) -> Vec<ResourceRef> {
    let name = event_name.to_ascii_lowercase();
    let noun = |r: &ResourceRef| {
        let last = r.resource_type.rsplit(':').next().unwrap_or("");
        last.replace('-', "")
    };
    let about: Vec<bool> = found
        .iter()
        .map(|r| {
            let noun = noun(r);
            !noun.is_empty() && name.contains(&noun)
        })
        .collect();
    if about.iter().any(|a| *a) {
        found
            .into_iter()
            .zip(about)
            .filter_map(|(r, a)| a.then_some(r))
            .collect()
    } else {
        found
    }
}

/// Whether `wanted` (an ARN or a name) is one of the event's resources: a resource
/// field's value or `resources[].arn` equal to it, an ARN one of whose `:`/`/`-separated
/// parts is it, or its JSON string form appearing in the request or response.
pub fn mentions(
    wanted: &str,
    request_parameters: Option<&str>,
    response_elements: Option<&str>,
    resources: &[(String, Option<String>)],
) -> bool {
    if wanted.is_empty() {
        return false;
    }
    let arn_names = |arn: &str| arn == wanted || arn.split([':', '/']).any(|part| part == wanted);
    if resources.iter().any(|(arn, _)| arn_names(arn)) {
        return true;
    }
    let quoted = match serde_json::to_string(wanted) {
        Ok(q) => q,
        Err(_) => return false,
    };
    [request_parameters, response_elements]
        .into_iter()
        .flatten()
        .any(|text| text.contains(&quoted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_classes() {
        assert_eq!(classify("CreateUser"), Some(Change::Created));
        assert_eq!(classify("RunInstances"), Some(Change::Created));
        assert_eq!(classify("PutObject"), Some(Change::Created));
        assert_eq!(classify("PutBucketPolicy"), Some(Change::Modified));
        assert_eq!(classify("DeleteTrail"), Some(Change::Deleted));
        assert_eq!(classify("TerminateInstances"), Some(Change::Deleted));
        assert_eq!(classify("ScheduleKeyDeletion"), Some(Change::Deleted));
        assert_eq!(classify("AttachUserPolicy"), Some(Change::Modified));
        assert_eq!(classify("StopLogging"), Some(Change::Modified));
        assert_eq!(classify("CreateTags"), Some(Change::Modified));
        assert_eq!(classify("GetObject"), None);
        assert_eq!(classify("ListBuckets"), None);
        assert_eq!(classify("Settle"), None);
    }

    #[test]
    fn fields_at_any_depth() {
        let response = r#"{"instancesSet":{"items":[{"instanceId":"i-1"},{"instanceId":"i-2"}]}}"#;
        let found = extract(
            "ec2.amazonaws.com",
            Some(r#"{"imageId":"ami-9"}"#),
            Some(response),
            &[],
        );
        let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["ami-9", "i-1", "i-2"]);
        assert_eq!(found[1].resource_type, "ec2:instance");
    }

    #[test]
    fn service_specific_fields_win() {
        let found = extract(
            "ec2.amazonaws.com",
            Some(r#"{"groupName":"open-ssh"}"#),
            None,
            &[],
        );
        assert_eq!(found[0].resource_type, "ec2:security-group");
        let found = extract(
            "iam.amazonaws.com",
            Some(r#"{"groupName":"admins"}"#),
            None,
            &[],
        );
        assert_eq!(found[0].resource_type, "iam:group");
        // `name` only names a resource for the services listed.
        assert!(extract("sts.amazonaws.com", Some(r#"{"name":"x"}"#), None, &[]).is_empty());
    }

    #[test]
    fn resources_array_is_the_fallback() {
        let resources = vec![(
            "arn:aws:s3:::bucket-a".to_string(),
            Some("AWS::S3::Bucket".to_string()),
        )];
        let found = extract("s3.amazonaws.com", Some("not json"), None, &resources);
        assert_eq!(
            found,
            vec![ResourceRef {
                id: "arn:aws:s3:::bucket-a".into(),
                resource_type: "s3:bucket".into()
            }]
        );
    }

    #[test]
    fn focus_keeps_what_the_call_is_about() {
        let found = extract(
            "iam.amazonaws.com",
            Some(r#"{"userName":"ops"}"#),
            Some(r#"{"accessKey":{"userName":"ops","accessKeyId":"AKIAX"}}"#),
            &[],
        );
        assert_eq!(found.len(), 2);
        let kept = focus("CreateAccessKey", found.clone());
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].id, "AKIAX");
        // No resource type in the name: everything stays.
        assert_eq!(focus("CreateLoginProfile", found.clone()), found);
    }

    #[test]
    fn mentions_is_exact() {
        let resources = vec![("arn:aws:s3:::bucket-a/key.txt".to_string(), None)];
        assert!(mentions("bucket-a", None, None, &resources));
        assert!(!mentions("bucket", None, None, &resources));
        assert!(mentions(
            "i-123",
            Some(r#"{"instanceId":"i-123"}"#),
            None,
            &[]
        ));
        assert!(!mentions(
            "i-12",
            Some(r#"{"instanceId":"i-123"}"#),
            None,
            &[]
        ));
    }
}
