//! The simulated organisation: accounts, their regions, principals with stable habits,
//! resources, and helpers that turn an actor plus an API call into a CloudTrail record.

use rand::Rng;
use serde_json::{json, Value};

use crate::ids::{self, SimRng};
use crate::record::{
    event_version_for, host_header, Event, Record, Resource, SessionAttributes, SessionContext,
    SessionIssuer, TlsDetails, UserIdentity,
};

/// Account aliases, in order; more accounts than aliases get numbered aliases.
const ACCOUNT_ALIASES: [&str; 6] = [
    "prod",
    "staging",
    "shared-services",
    "data",
    "sandbox",
    "audit",
];

/// Second region of each account (by index); `None` means us-east-1 only.
const SECOND_REGIONS: [Option<&str>; 6] = [
    Some("eu-west-1"),
    None,
    Some("us-west-2"),
    Some("eu-central-1"),
    None,
    Some("ap-southeast-2"),
];

/// Relative activity of each account (by index).
const ACCOUNT_WEIGHTS: [u64; 6] = [50, 20, 30, 25, 10, 15];

/// Developers who sign in through IAM Identity Center (email, given name).
const DEVELOPERS: [&str; 8] = [
    "maria.garcia@example.com",
    "li.wei@example.com",
    "sam.okafor@example.com",
    "julia.novak@example.com",
    "arjun.mehta@example.com",
    "emma.schmidt@example.com",
    "kenji.tanaka@example.com",
    "fatima.haddad@example.com",
];

/// An IAM role of an account.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    /// Role name.
    pub name: String,
    /// `AROA...` unique id.
    pub role_id: String,
    /// Role ARN.
    pub arn: String,
}

/// A long-term IAM user.
#[derive(Debug, Clone)]
pub(crate) struct IamUser {
    /// User name.
    pub name: String,
    /// `AIDA...` unique id.
    pub user_id: String,
    /// Current access key (`AKIA...`).
    pub access_key: String,
    /// Home / office IP the user works from.
    pub home_ip: String,
    /// CLI user agent of the user's laptop.
    pub user_agent: &'static str,
}

/// A developer using IAM Identity Center (SSO) permission sets.
#[derive(Debug, Clone)]
pub(crate) struct Developer {
    /// Email, used as the SSO session name.
    pub email: &'static str,
    /// Office or home IP.
    pub ip: String,
    /// Browser user agent.
    pub browser: &'static str,
    /// CLI / SDK user agent.
    pub cli: &'static str,
}

/// One simulated AWS account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// 12-digit account id.
    pub id: String,
    /// Human alias (`prod`, `staging`...).
    pub alias: String,
    /// Regions with routine activity; the first is always us-east-1 (global services).
    pub regions: Vec<&'static str>,
    /// Relative routine activity.
    pub weight: u64,
    /// CI/CD deployment role.
    pub ci_role: Role,
    /// Role the CI role chains into for deployments.
    pub deploy_role: Role,
    /// IP addresses of the CI runners (fixed).
    pub ci_ips: Vec<String>,
    /// SSO permission-set roles (developer, read-only, admin).
    pub sso_roles: Vec<Role>,
    /// SSO developers working in this account.
    pub developers: Vec<Developer>,
    /// Long-term IAM users (legacy).
    pub users: Vec<IamUser>,
    /// AWS Backup service role.
    pub backup_role: Role,
    /// Third-party monitoring integration role.
    pub monitoring_role: Role,
    /// IPs the monitoring vendor polls from.
    pub monitoring_ips: Vec<String>,
    /// Application role used by the S3 app instances.
    pub app_role: Role,
    /// EC2 instance ids of the app fleet.
    pub app_instances: Vec<String>,
    /// Private IPs / NAT IPs of the app fleet.
    pub app_ips: Vec<String>,
    /// Lambda execution role.
    pub lambda_role: Role,
    /// The federation broker IAM user and its federated users.
    pub broker_user: IamUser,
    /// Buckets: data, artifacts, logs, backups.
    pub buckets: Vec<String>,
    /// KMS key ids.
    pub kms_keys: Vec<String>,
    /// VPC id.
    pub vpc_id: String,
    /// Gateway VPC endpoint the app fleet reaches S3 through.
    pub s3_vpc_endpoint: String,
    /// Security group ids.
    pub security_groups: Vec<String>,
    /// Subnet ids.
    pub subnets: Vec<String>,
    /// EBS volume ids.
    pub volumes: Vec<String>,
    /// The legitimate Amazon Q Business application id.
    pub qbusiness_app: String,
    /// Secret names.
    pub secrets: Vec<String>,
}

/// The whole simulated organisation.
#[derive(Debug, Clone)]
pub(crate) struct World {
    /// Accounts in a fixed order.
    pub accounts: Vec<Account>,
    /// The organisation id (`o-...`).
    pub org_id: String,
}

fn role(rng: &mut SimRng, account: &str, name: &str, path: &str) -> Role {
    Role {
        name: name.to_string(),
        role_id: format!("AROA{}", ids::key_chars(rng, 17)),
        arn: format!("arn:aws:iam::{account}:role{path}{name}"),
    }
}

fn iam_user(rng: &mut SimRng, name: &str, home_ip: String, user_agent: &'static str) -> IamUser {
    IamUser {
        name: name.to_string(),
        user_id: format!("AIDA{}", ids::key_chars(rng, 17)),
        access_key: ids::long_term_key(rng),
        home_ip,
        user_agent,
    }
}

/// An address in an AWS-owned looking range.
pub(crate) fn aws_ip(rng: &mut SimRng) -> String {
    const PREFIXES: [(u8, u8); 8] = [
        (3, 120),
        (3, 238),
        (18, 184),
        (34, 201),
        (44, 192),
        (52, 23),
        (54, 86),
        (35, 170),
    ];
    let (a, b) = PREFIXES[rng.random_range(0..PREFIXES.len())];
    format!(
        "{a}.{b}.{}.{}",
        rng.random_range(0..256u16),
        rng.random_range(1..255u16)
    )
}

/// CLI user agents of developers' laptops.
pub(crate) const CLI_AGENTS: [&str; 4] = [
    "aws-cli/2.17.42 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#ec2.describe-instances",
    "aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#s3.ls",
    "Boto3/1.35.24 md/Botocore#1.35.24 ua/2.0 os/macos#24.0.0 md/arch#arm64 lang/python#3.12.5 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.24",
    "aws-sdk-js/3.658.1 ua/2.1 os/darwin#24.0.0 lang/js md/nodejs#20.17.0 api/sts#3.658.1",
];

/// Browser user agents (console users).
pub(crate) const BROWSER_AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
];

/// Terraform as run by the CI role.
pub(crate) const TERRAFORM_AGENT: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.9.6 (+https://www.terraform.io) terraform-provider-aws/5.69.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.31.0 ua/2.1 os/linux lang/go#1.22.7 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.179.0";
/// The CI pipeline's own CLI calls.
pub(crate) const CI_CLI_AGENT: &str = "aws-cli/2.17.50 md/awscrt#0.21.5 ua/2.0 os/linux#5.10.225-213.878.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython exec-env/GitLab-Runner cfg/retry-mode#standard md/installer#docker md/prompt#off md/command#deploy";
/// The monitoring vendor's poller.
pub(crate) const MONITORING_AGENT: &str =
    "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) exec-env/AWS_ECS_FARGATE";
/// The S3 application (Java SDK).
pub(crate) const APP_AGENT: &str = "aws-sdk-java/2.28.6 Linux/5.10.225-213.878.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy";
/// Lambda runtime SDK.
pub(crate) const LAMBDA_AGENT: &str = "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.224-234.877.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.5 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.145";

impl World {
    /// Builds the organisation deterministically from `seed`.
    pub fn build(seed: u64, account_count: u32) -> World {
        let mut rng = ids::rng_for(seed, &[ids::label("world")]);
        let org_id = format!("o-{}", ids::hex(&mut rng, 10));
        let mut accounts = Vec::new();
        let mut used_ids: Vec<String> = Vec::new();
        for index in 0..account_count as usize {
            let mut id = ids::account_id(&mut rng);
            while used_ids.contains(&id) {
                id = ids::account_id(&mut rng);
            }
            used_ids.push(id.clone());
            accounts.push(Self::account(&mut rng, index, id));
        }
        World { accounts, org_id }
    }

    fn account(rng: &mut SimRng, index: usize, id: String) -> Account {
        let slot = index % ACCOUNT_ALIASES.len();
        let alias = if index < ACCOUNT_ALIASES.len() {
            ACCOUNT_ALIASES[slot].to_string()
        } else {
            format!(
                "{}-{}",
                ACCOUNT_ALIASES[slot],
                index / ACCOUNT_ALIASES.len() + 1
            )
        };
        let mut regions = vec!["us-east-1"];
        if let Some(second) = SECOND_REGIONS[slot] {
            regions.push(second);
        }
        let sso = |rng: &mut SimRng, set: &str| {
            let name = format!("AWSReservedSSO_{set}_{}", ids::hex(rng, 16));
            role(rng, &id, &name, "/aws-reserved/sso.amazonaws.com/")
        };
        let sso_roles = vec![
            sso(rng, "DeveloperAccess"),
            sso(rng, "ReadOnlyAccess"),
            sso(rng, "AdministratorAccess"),
        ];
        let dev_count = 3 + index % 3;
        let developers = (0..dev_count)
            .map(|d| {
                let email = DEVELOPERS[(index * 3 + d) % DEVELOPERS.len()];
                Developer {
                    email,
                    ip: if d % 2 == 0 {
                        format!("198.51.100.{}", 10 + rng.random_range(0..20u8))
                    } else {
                        format!("203.0.113.{}", 20 + rng.random_range(0..200u8))
                    },
                    browser: BROWSER_AGENTS[d % BROWSER_AGENTS.len()],
                    cli: CLI_AGENTS[(index + d) % CLI_AGENTS.len()],
                }
            })
            .collect();
        let alice_ip = format!("198.51.100.{}", 40 + rng.random_range(0..10u8));
        let bob_ip = format!("203.0.113.{}", 30 + rng.random_range(0..100u8));
        let users = vec![
            iam_user(rng, "alice.dev", alice_ip, CLI_AGENTS[0]),
            iam_user(rng, "bob.ops", bob_ip, CLI_AGENTS[1]),
        ];
        let broker_ip = aws_ip(rng);
        let broker_user = iam_user(rng, "federation-broker", broker_ip, LAMBDA_AGENT);
        let instance = |rng: &mut SimRng| format!("i-0{}", ids::hex(rng, 16));
        let app_instances = (0..4).map(|_| instance(rng)).collect();
        let app_ips = (0..4).map(|_| aws_ip(rng)).collect();
        let ci_ips = (0..2).map(|_| aws_ip(rng)).collect();
        let monitoring_ips = (0..3).map(|_| aws_ip(rng)).collect();
        let short = ids::hex(rng, 6);
        Account {
            ci_role: role(rng, &id, "gitlab-ci-deployer", "/"),
            deploy_role: role(rng, &id, "terraform-deploy", "/"),
            ci_ips,
            sso_roles,
            developers,
            users,
            backup_role: role(rng, &id, "AWSBackupDefaultServiceRole", "/service-role/"),
            monitoring_role: role(rng, &id, "DatadogIntegrationRole", "/"),
            monitoring_ips,
            app_role: role(rng, &id, "orders-api-instance-role", "/"),
            app_instances,
            app_ips,
            lambda_role: role(rng, &id, "invoice-renderer-lambda-role", "/service-role/"),
            broker_user,
            buckets: vec![
                format!("{alias}-orders-{short}"),
                format!("{alias}-ci-artifacts-{short}"),
                format!("{alias}-logs-{short}"),
                format!("{alias}-exports-{short}"),
            ],
            kms_keys: (0..3).map(|_| ids::uuid(rng)).collect(),
            vpc_id: format!("vpc-0{}", ids::hex(rng, 16)),
            s3_vpc_endpoint: format!("vpce-0{}", ids::hex(rng, 16)),
            security_groups: (0..3)
                .map(|_| format!("sg-0{}", ids::hex(rng, 16)))
                .collect(),
            subnets: (0..3)
                .map(|_| format!("subnet-0{}", ids::hex(rng, 16)))
                .collect(),
            volumes: (0..5)
                .map(|_| format!("vol-0{}", ids::hex(rng, 16)))
                .collect(),
            qbusiness_app: ids::uuid(rng),
            secrets: [
                "prod/orders/db-password",
                "prod/orders/stripe-api-key",
                "ci/gitlab-token",
                "app/jwt-signing-key",
                "prod/reporting/redshift",
                "partners/shipping-api",
                "prod/payments/adyen",
                "ops/pagerduty-key",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            id,
            alias,
            regions,
            weight: ACCOUNT_WEIGHTS[slot],
        }
    }
}

/// Who makes a call, from where, with what client.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    /// The `userIdentity` block.
    pub identity: UserIdentity,
    /// `sourceIPAddress` (an IP or a service name).
    pub source_ip: String,
    /// `userAgent`; `None` leaves it out.
    pub user_agent: Option<String>,
    /// Whether the client connected over TLS (service-originated calls carry no `tlsDetails`).
    pub tls: bool,
    /// Whether the credentials come from a console session.
    pub console: bool,
}

/// `userIdentity` for an assumed-role session.
pub(crate) fn assumed_role_identity(
    account: &str,
    role: &Role,
    session: &str,
    access_key: String,
    created: i64,
    mfa: bool,
) -> UserIdentity {
    let role_path_name = role.arn.rsplit('/').next().unwrap_or(&role.name);
    UserIdentity {
        kind: "AssumedRole",
        principal_id: Some(format!("{}:{session}", role.role_id)),
        arn: Some(format!(
            "arn:aws:sts::{account}:assumed-role/{role_path_name}/{session}"
        )),
        account_id: Some(account.to_string()),
        access_key_id: Some(access_key),
        user_name: None,
        session_context: Some(SessionContext {
            session_issuer: Some(SessionIssuer {
                kind: "Role",
                principal_id: role.role_id.clone(),
                arn: role.arn.clone(),
                account_id: account.to_string(),
                user_name: role.name.clone(),
            }),
            web_id_federation_data: Some(json!({})),
            attributes: SessionAttributes {
                creation_date: ids::event_time(created),
                mfa_authenticated: if mfa { "true" } else { "false" },
            },
            source_identity: None,
            ec2_role_delivery: None,
        }),
        invoked_by: None,
    }
}

/// `userIdentity` for a long-term IAM user key.
pub(crate) fn iam_user_identity(account: &str, user: &IamUser, access_key: &str) -> UserIdentity {
    UserIdentity {
        kind: "IAMUser",
        principal_id: Some(user.user_id.clone()),
        arn: Some(format!("arn:aws:iam::{account}:user/{}", user.name)),
        account_id: Some(account.to_string()),
        access_key_id: Some(access_key.to_string()),
        user_name: Some(user.name.clone()),
        session_context: None,
        invoked_by: None,
    }
}

/// `userIdentity` for the root user; console sessions carry session attributes.
pub(crate) fn root_identity(
    account: &str,
    access_key: Option<String>,
    created: Option<(i64, bool)>,
) -> UserIdentity {
    UserIdentity {
        kind: "Root",
        principal_id: Some(account.to_string()),
        arn: Some(format!("arn:aws:iam::{account}:root")),
        account_id: Some(account.to_string()),
        access_key_id: access_key,
        user_name: None,
        session_context: created.map(|(time, mfa)| SessionContext {
            session_issuer: None,
            web_id_federation_data: None,
            attributes: SessionAttributes {
                creation_date: ids::event_time(time),
                mfa_authenticated: if mfa { "true" } else { "false" },
            },
            source_identity: None,
            ec2_role_delivery: None,
        }),
        invoked_by: None,
    }
}

/// `userIdentity` for an AWS service acting on its own.
pub(crate) fn service_identity(service: &str) -> UserIdentity {
    UserIdentity {
        kind: "AWSService",
        principal_id: None,
        arn: None,
        account_id: None,
        access_key_id: None,
        user_name: None,
        session_context: None,
        invoked_by: Some(service.to_string()),
    }
}

/// `userIdentity` for a federated user obtained through `GetFederationToken`.
pub(crate) fn federated_identity(
    account: &str,
    broker: &IamUser,
    name: &str,
    key: String,
    created: i64,
) -> UserIdentity {
    UserIdentity {
        kind: "FederatedUser",
        principal_id: Some(format!("{account}:{name}")),
        arn: Some(format!("arn:aws:sts::{account}:federated-user/{name}")),
        account_id: Some(account.to_string()),
        access_key_id: Some(key),
        user_name: None,
        session_context: Some(SessionContext {
            session_issuer: Some(SessionIssuer {
                kind: "IAMUser",
                principal_id: broker.user_id.clone(),
                arn: format!("arn:aws:iam::{account}:user/{}", broker.name),
                account_id: account.to_string(),
                user_name: broker.name.clone(),
            }),
            web_id_federation_data: None,
            attributes: SessionAttributes {
                creation_date: ids::event_time(created),
                mfa_authenticated: "false",
            },
            source_identity: None,
            ec2_role_delivery: None,
        }),
        invoked_by: None,
    }
}

/// A temporary key that is stable for one principal during one hour-long session.
pub(crate) fn session_key(seed: u64, principal: &str, session_start: i64) -> String {
    let mut rng = ids::rng_for(seed, &[ids::label(principal), session_start as u64]);
    ids::temporary_key(&mut rng)
}

/// What kind of request a call is, for the record's category fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// A management API call.
    Management,
    /// An S3 (or other) data-plane call.
    Data,
    /// An event AWS emits itself (`AwsServiceEvent`).
    ServiceEvent,
    /// A console sign-in (`AwsConsoleSignIn`).
    SignIn,
}

/// Everything needed to turn a call into a record.
pub(crate) struct Call<'a> {
    /// Who calls.
    pub actor: &'a Actor,
    /// Unix seconds.
    pub time: i64,
    /// Index of the delivering account.
    pub account: usize,
    /// `recipientAccountId`.
    pub recipient: &'a str,
    /// `awsRegion`.
    pub region: &'static str,
    /// `eventSource`.
    pub source: &'static str,
    /// `eventName`.
    pub name: &'static str,
    /// `requestParameters`.
    pub params: Value,
    /// `responseElements`.
    pub response: Value,
    /// `readOnly`.
    pub read_only: bool,
    /// Category of the call.
    pub kind: CallKind,
}

/// Builds the record of `call`, drawing ids from `rng`.
pub(crate) fn make_event(rng: &mut SimRng, call: Call<'_>) -> Event {
    let Call {
        actor,
        time,
        account,
        recipient,
        region,
        source,
        name,
        params,
        response,
        read_only,
        kind,
    } = call;
    let data = kind == CallKind::Data;
    let request_id = match (kind, source) {
        (CallKind::Data, _) | (_, "s3.amazonaws.com") => Some(ids::hex_upper(rng, 16)),
        (CallKind::SignIn, _) | (CallKind::ServiceEvent, _) => None,
        _ => Some(ids::uuid(rng)),
    };
    let tls_details = (actor.tls && kind != CallKind::ServiceEvent).then(|| {
        let modern = rng.random_range(0..10u8) < 8;
        TlsDetails {
            tls_version: if modern { "TLSv1.3" } else { "TLSv1.2" },
            cipher_suite: if modern {
                "TLS_AES_128_GCM_SHA256"
            } else {
                "ECDHE-RSA-AES128-GCM-SHA256"
            },
            client_provided_host_header: host_header(source, region),
        }
    });
    let record = Record {
        event_version: event_version_for(source, data),
        user_identity: actor.identity.clone(),
        event_time: ids::event_time(time),
        event_source: source,
        event_name: name,
        aws_region: region,
        source_ip_address: actor.source_ip.clone(),
        user_agent: actor.user_agent.clone(),
        error_code: None,
        error_message: None,
        request_parameters: params,
        response_elements: response,
        additional_event_data: None,
        request_id,
        event_id: ids::uuid(rng),
        read_only: Some(read_only),
        resources: None,
        event_type: match kind {
            CallKind::Management | CallKind::Data => "AwsApiCall",
            CallKind::ServiceEvent => "AwsServiceEvent",
            CallKind::SignIn => "AwsConsoleSignIn",
        },
        api_version: None,
        management_event: !data,
        recipient_account_id: recipient.to_string(),
        shared_event_id: None,
        vpc_endpoint_id: None,
        event_category: if data { "Data" } else { "Management" },
        tls_details,
        session_credential_from_console: actor.console.then_some("true"),
    };
    Event {
        time,
        account,
        record,
    }
}

/// `resources` of an S3 object-level call.
pub(crate) fn s3_object_resources(account: &str, bucket: &str, key: &str) -> Vec<Resource> {
    vec![
        Resource {
            account_id: None,
            kind: "AWS::S3::Object",
            arn: format!("arn:aws:s3:::{bucket}/{key}"),
        },
        Resource {
            account_id: Some(account.to_string()),
            kind: "AWS::S3::Bucket",
            arn: format!("arn:aws:s3:::{bucket}"),
        },
    ]
}

/// `additionalEventData` of an S3 call.
pub(crate) fn s3_additional_data(rng: &mut SimRng, bytes_in: u64, bytes_out: u64) -> Value {
    json!({
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": bytes_in,
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": format!("{}/{}=", ids::alnum(rng, 40), ids::alnum(rng, 27)),
        "bytesTransferredOut": bytes_out,
    })
}
