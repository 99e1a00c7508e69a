//! Planted attack scenarios. Each scenario instance uses its own attacker principal,
//! key, IP and user agent, happens inside the simulated period in one account, and
//! is described by a [`TruthEntry`] listing the exact ids of the records it planted.

use rand::Rng;
use serde_json::{json, Value};

use crate::ids::{self, SimRng};
use crate::record::{Event, Resource, UserIdentity};
use crate::world::{
    assumed_role_identity, iam_user_identity, make_event, root_identity, s3_additional_data,
    s3_object_resources, Account, Actor, Call, CallKind, IamUser, World, BROWSER_AGENTS,
};
use crate::TruthEntry;

/// Name and one-line description of every scenario, in canonical order.
pub(crate) static SCENARIOS: &[(&str, &str)] = &[
    ("root-activity", "Root console logins (without and with MFA), root creates a user and an access key, changes the account contact"),
    ("iam-credential-compromise", "A developer's long-term key used from a VPS: enumeration burst with AccessDenied, backdoor admin user, login profile, federation token"),
    ("cloudtrail-tampering", "CloudTrail stopped, management events deselected and trail deleted; GuardDuty, Config, flow logs and Resolver query logging disabled"),
    ("ec2-compromise", "Key pair import, SSH opened to the world, GPU instances in an unused region, user-data change, instance credentials used outside AWS"),
    ("s3-exposure", "Bucket public access block removed, public bucket policy and ACL, then a mass download from an outside IP"),
    ("s3-ransomware", "Versioning suspended, objects mass-deleted, objects rewritten with customer-provided keys, ransom note uploaded"),
    ("snapshot-exfiltration", "EBS snapshot, AMI and RDS snapshot shared with an outside account"),
    ("amazon-q-abuse", "Shadow Amazon Q Business application with external plugin and uploaded documents, guardrails loosened, legit app deleted; first Amazon Q Developer use from an IDE"),
    ("bedrock-abuse", "LLM-jacking: invocation logging deleted, model access enabled, burst of InvokeModel from an outside IP"),
    ("secrets-harvest", "ListSecrets then 25 secrets read within minutes, SSM parameters read with decryption"),
    ("defense-evasion-org", "Attempt to leave the organization (denied), KMS key disabled and scheduled for deletion, Security Hub disabled"),
];

/// One planted scenario instance: its records and its truth entry.
pub(crate) struct Planted {
    /// Records, in time order.
    pub events: Vec<Event>,
    /// Ground truth (event ids, first and last filled in).
    pub truth: TruthEntry,
}

/// Plants every named scenario between `start` and `end` (Unix seconds).
pub(crate) fn plant_all(
    world: &World,
    seed: u64,
    start: i64,
    end: i64,
    names: &[&'static str],
) -> Vec<Planted> {
    let count = names.len() as i64;
    let usable = (end - start - 4 * 3600).max(3600);
    names
        .iter()
        .enumerate()
        .filter_map(|(index, name)| {
            let mut rng = ids::rng_for(seed, &[ids::label("scenario"), ids::label(name)]);
            let slot = usable * (2 * index as i64 + 1) / (2 * count.max(1));
            let begin = start + 3600 + slot + rng.random_range(0..900);
            let account_index = index % world.accounts.len();
            let account = world.accounts.get(account_index)?;
            let clock = ids::rng_for(seed, &[ids::label("scenario-clock"), ids::label(name)]);
            let mut scene = Scene {
                world,
                account,
                account_index,
                clock,
                time: begin,
                events: Vec::new(),
            };
            let truth = scene.run(name, &mut rng)?;
            let mut events = scene.events;
            events.sort_by_key(|event| event.time);
            // Never spill past the period (the placement leaves hours of margin).
            events.retain(|event| event.time < end);
            Some(finish(truth, events))
        })
        .collect()
}

fn finish(mut truth: TruthEntry, events: Vec<Event>) -> Planted {
    truth.event_ids = events
        .iter()
        .map(|event| event.record.event_id.clone())
        .collect();
    truth.first = events
        .first()
        .map(|event| event.record.event_time.clone())
        .unwrap_or_default();
    truth.last = events
        .last()
        .map(|event| event.record.event_time.clone())
        .unwrap_or_default();
    Planted { events, truth }
}

/// Builds the records of one scenario, advancing a clock as it goes.
struct Scene<'a> {
    world: &'a World,
    account: &'a Account,
    account_index: usize,
    /// Jitter of the scenario clock (separate from the id generator).
    clock: SimRng,
    time: i64,
    events: Vec<Event>,
}

/// Attacker IPs come from documentation ranges (never a real host).
fn attacker_ip(rng: &mut SimRng) -> String {
    if rng.random_range(0..2u8) == 0 {
        format!("192.0.2.{}", rng.random_range(2..250u8))
    } else {
        format!(
            "198.18.{}.{}",
            rng.random_range(0..256u16),
            rng.random_range(2..250u8)
        )
    }
}

const KALI_CLI: &str = "aws-cli/2.13.25 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off command/iam.list-users";
const VPS_BOTO: &str = "Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#5.15.0-86-generic md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57";
const PYTHON_REQUESTS: &str = "python-requests/2.31.0";
const WINDOWS_BOTO: &str = "Boto3/1.34.102 md/Botocore#1.34.102 ua/2.0 os/windows#10 md/arch#amd64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.102";
const IDE_AGENT: &str = "AmazonQ-For-VSCode/1.34.0 Visual-Studio-Code/1.94.2 ClientId/5e6f7a1b-3c2d-4e8f-9a0b-1c2d3e4f5a6b";

impl Scene<'_> {
    /// Advances the clock by `seconds` plus a little jitter.
    fn after(&mut self, seconds: i64) -> i64 {
        let jitter = if seconds > 2 {
            self.clock.random_range(0..=seconds / 3)
        } else {
            0
        };
        self.time += seconds + jitter;
        self.time
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        actor: &Actor,
        region: &'static str,
        source: &'static str,
        name: &'static str,
        params: Value,
        response: Value,
        read_only: bool,
        kind: CallKind,
        rng: &mut SimRng,
    ) -> &mut Event {
        let event = make_event(
            rng,
            Call {
                actor,
                time: self.time,
                account: self.account_index,
                recipient: &self.account.id,
                region,
                source,
                name,
                params,
                response,
                read_only,
                kind,
            },
        );
        self.events.push(event);
        let last = self.events.len() - 1;
        &mut self.events[last]
    }

    /// A management call at the current time.
    #[allow(clippy::too_many_arguments)]
    fn mgmt(
        &mut self,
        actor: &Actor,
        region: &'static str,
        source: &'static str,
        name: &'static str,
        params: Value,
        response: Value,
        read_only: bool,
        rng: &mut SimRng,
    ) -> &mut Event {
        self.call(
            actor,
            region,
            source,
            name,
            params,
            response,
            read_only,
            CallKind::Management,
            rng,
        )
    }

    fn denied(event: &mut Event, action: &str) {
        let arn = event.record.user_identity.arn.clone().unwrap_or_default();
        event.record.error_code = Some("AccessDenied");
        event.record.error_message = Some(format!("User: {arn} is not authorized to perform: {action} because no identity-based policy allows the {action} action"));
        event.record.response_elements = Value::Null;
    }

    fn primary_region(&self) -> &'static str {
        self.account.regions.last().copied().unwrap_or("us-east-1")
    }

    fn truth(
        &self,
        scenario: &str,
        region: &str,
        actor: &Actor,
        description: String,
        expected: &str,
    ) -> TruthEntry {
        TruthEntry {
            scenario: scenario.to_string(),
            account: self.account.id.clone(),
            region: region.to_string(),
            principal_arn: actor.identity.arn.clone().unwrap_or_default(),
            access_key_id: actor.identity.access_key_id.clone().unwrap_or_default(),
            source_ip: actor.source_ip.clone(),
            user_agent: actor.user_agent.clone().unwrap_or_default(),
            event_ids: Vec::new(),
            first: String::new(),
            last: String::new(),
            description,
            expected: expected.to_string(),
        }
    }

    fn new_user(&mut self, name: &str, agent: &'static str, rng: &mut SimRng) -> IamUser {
        IamUser {
            name: name.to_string(),
            user_id: format!("AIDA{}", ids::key_chars(rng, 17)),
            access_key: ids::long_term_key(rng),
            home_ip: attacker_ip(rng),
            user_agent: agent,
        }
    }

    fn user_actor(&self, user: &IamUser, ip: &str, agent: &str) -> Actor {
        Actor {
            identity: iam_user_identity(&self.account.id, user, &user.access_key),
            source_ip: ip.to_string(),
            user_agent: Some(agent.to_string()),
            tls: true,
            console: false,
        }
    }

    /// A stolen SSO administrator session of developer `index`, used from `ip`.
    fn stolen_admin_session(
        &mut self,
        index: usize,
        ip: &str,
        agent: &str,
        rng: &mut SimRng,
    ) -> Actor {
        let developer = self.account.developers[index % self.account.developers.len()].email;
        let key = ids::temporary_key(rng);
        let created = self.time - 1200;
        Actor {
            identity: assumed_role_identity(
                &self.account.id,
                &self.account.sso_roles[2],
                developer,
                key,
                created,
                false,
            ),
            source_ip: ip.to_string(),
            user_agent: Some(agent.to_string()),
            tls: true,
            console: false,
        }
    }

    fn run(&mut self, name: &str, rng: &mut SimRng) -> Option<TruthEntry> {
        Some(match name {
            "root-activity" => self.root_activity(rng),
            "iam-credential-compromise" => self.iam_credential_compromise(rng),
            "cloudtrail-tampering" => self.cloudtrail_tampering(rng),
            "ec2-compromise" => self.ec2_compromise(rng),
            "s3-exposure" => self.s3_exposure(rng),
            "s3-ransomware" => self.s3_ransomware(rng),
            "snapshot-exfiltration" => self.snapshot_exfiltration(rng),
            "amazon-q-abuse" => self.amazon_q_abuse(rng),
            "bedrock-abuse" => self.bedrock_abuse(rng),
            "secrets-harvest" => self.secrets_harvest(rng),
            "defense-evasion-org" => self.defense_evasion_org(rng),
            _ => return None,
        })
    }

    fn root_activity(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let ip = attacker_ip(rng);
        let agent = BROWSER_AGENTS[1];
        let region = "us-east-1";
        for mfa in [false, true] {
            let login = Actor {
                identity: root_identity(&account.id, None, None),
                source_ip: ip.clone(),
                user_agent: Some(agent.to_string()),
                tls: false,
                console: false,
            };
            let event = self.call(
                &login,
                region,
                "signin.amazonaws.com",
                "ConsoleLogin",
                Value::Null,
                json!({"ConsoleLogin": "Success"}),
                false,
                CallKind::SignIn,
                rng,
            );
            event.record.additional_event_data = Some(json!({
                "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_",
                "MobileVersion": "No",
                "MFAUsed": if mfa { "Yes" } else { "No" }
            }));
            self.after(if mfa { 60 } else { 1500 });
        }
        let key = ids::temporary_key(rng);
        let created = self.time - 60;
        let root = Actor {
            identity: root_identity(&account.id, Some(key), Some((created, true))),
            source_ip: ip.clone(),
            user_agent: Some(agent.to_string()),
            tls: true,
            console: true,
        };
        self.after(20);
        self.mgmt(
            &root,
            region,
            "iam.amazonaws.com",
            "GetAccountSummary",
            Value::Null,
            Value::Null,
            true,
            rng,
        );
        self.after(15);
        self.mgmt(
            &root,
            region,
            "iam.amazonaws.com",
            "ListUsers",
            json!({"maxItems": 1000}),
            Value::Null,
            true,
            rng,
        );
        self.after(40);
        let new_user = "ops-automation";
        let user_id = format!("AIDA{}", ids::key_chars(rng, 17));
        let now = self.time;
        self.mgmt(&root, region, "iam.amazonaws.com", "CreateUser", json!({"userName": new_user}), json!({"user": {"path": "/", "userName": new_user, "userId": user_id, "arn": format!("arn:aws:iam::{}:user/{new_user}", account.id), "createDate": ids::response_date(now)}}), false, rng);
        self.after(30);
        let new_key = ids::long_term_key(rng);
        let now = self.time;
        self.mgmt(&root, region, "iam.amazonaws.com", "CreateAccessKey", json!({"userName": new_user}), json!({"accessKey": {"userName": new_user, "accessKeyId": new_key, "status": "Active", "createDate": ids::response_date(now)}}), false, rng);
        self.after(120);
        self.mgmt(
            &root,
            region,
            "account.amazonaws.com",
            "PutContactInformation",
            json!({"contactInformation": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            Value::Null,
            false,
            rng,
        );
        self.after(20);
        self.mgmt(
            &root,
            region,
            "account.amazonaws.com",
            "GetContactInformation",
            Value::Null,
            Value::Null,
            true,
            rng,
        );
        let mut truth = self.truth(
            "root-activity",
            region,
            &root,
            format!("Root user signed in to account {} from {ip} without MFA, then again with MFA, created IAM user {new_user} with access key {new_key} and changed the account contact information", account.id),
            "Root account console login (first without MFA) and root API activity: IAM user and access key creation, account contact change",
        );
        truth.access_key_id = root.identity.access_key_id.clone().unwrap_or_default();
        truth
    }

    fn iam_credential_compromise(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let user = account.users[0].clone();
        let ip = attacker_ip(rng);
        let region = "us-east-1";
        let probe = self.user_actor(&user, &ip, PYTHON_REQUESTS);
        self.mgmt(
            &probe,
            region,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            Value::Null,
            Value::Null,
            true,
            rng,
        );
        self.after(90);
        let actor = self.user_actor(&user, &ip, KALI_CLI);
        let enumeration: [(&'static str, &'static str, &'static str, bool); 24] = [
            ("iam.amazonaws.com", "ListUsers", "iam:ListUsers", false),
            ("iam.amazonaws.com", "ListRoles", "iam:ListRoles", true),
            ("iam.amazonaws.com", "ListGroups", "iam:ListGroups", false),
            (
                "iam.amazonaws.com",
                "ListPolicies",
                "iam:ListPolicies",
                true,
            ),
            (
                "iam.amazonaws.com",
                "GetAccountAuthorizationDetails",
                "iam:GetAccountAuthorizationDetails",
                true,
            ),
            (
                "iam.amazonaws.com",
                "ListAccessKeys",
                "iam:ListAccessKeys",
                false,
            ),
            (
                "iam.amazonaws.com",
                "ListAttachedUserPolicies",
                "iam:ListAttachedUserPolicies",
                false,
            ),
            (
                "iam.amazonaws.com",
                "GetAccountPasswordPolicy",
                "iam:GetAccountPasswordPolicy",
                true,
            ),
            (
                "s3.amazonaws.com",
                "ListBuckets",
                "s3:ListAllMyBuckets",
                false,
            ),
            (
                "ec2.amazonaws.com",
                "DescribeInstances",
                "ec2:DescribeInstances",
                false,
            ),
            (
                "ec2.amazonaws.com",
                "DescribeRegions",
                "ec2:DescribeRegions",
                false,
            ),
            (
                "ec2.amazonaws.com",
                "DescribeSecurityGroups",
                "ec2:DescribeSecurityGroups",
                false,
            ),
            (
                "ec2.amazonaws.com",
                "DescribeSnapshots",
                "ec2:DescribeSnapshots",
                true,
            ),
            (
                "ec2.amazonaws.com",
                "DescribeKeyPairs",
                "ec2:DescribeKeyPairs",
                true,
            ),
            (
                "secretsmanager.amazonaws.com",
                "ListSecrets",
                "secretsmanager:ListSecrets",
                true,
            ),
            (
                "rds.amazonaws.com",
                "DescribeDBInstances",
                "rds:DescribeDBInstances",
                true,
            ),
            (
                "lambda.amazonaws.com",
                "ListFunctions20150331",
                "lambda:ListFunctions",
                false,
            ),
            (
                "dynamodb.amazonaws.com",
                "ListTables",
                "dynamodb:ListTables",
                true,
            ),
            (
                "cloudtrail.amazonaws.com",
                "DescribeTrails",
                "cloudtrail:DescribeTrails",
                false,
            ),
            (
                "guardduty.amazonaws.com",
                "ListDetectors",
                "guardduty:ListDetectors",
                true,
            ),
            (
                "organizations.amazonaws.com",
                "DescribeOrganization",
                "organizations:DescribeOrganization",
                true,
            ),
            (
                "sso.amazonaws.com",
                "ListInstances",
                "sso:ListInstances",
                true,
            ),
            ("kms.amazonaws.com", "ListKeys", "kms:ListKeys", false),
            (
                "ssm.amazonaws.com",
                "DescribeParameters",
                "ssm:DescribeParameters",
                true,
            ),
        ];
        for (source, name, action, denied) in enumeration {
            self.after(6);
            let event = self.mgmt(
                &actor,
                region,
                source,
                name,
                json!({}),
                Value::Null,
                true,
                rng,
            );
            if denied {
                Self::denied(event, action);
            }
        }
        self.after(200);
        let backdoor = "backup-admin";
        let backdoor_id = format!("AIDA{}", ids::key_chars(rng, 17));
        let now = self.time;
        self.mgmt(&actor, region, "iam.amazonaws.com", "CreateUser", json!({"userName": backdoor}), json!({"user": {"path": "/", "userName": backdoor, "userId": backdoor_id, "arn": format!("arn:aws:iam::{}:user/{backdoor}", account.id), "createDate": ids::response_date(now)}}), false, rng);
        self.after(12);
        let backdoor_key = ids::long_term_key(rng);
        let now = self.time;
        self.mgmt(&actor, region, "iam.amazonaws.com", "CreateAccessKey", json!({"userName": backdoor}), json!({"accessKey": {"userName": backdoor, "accessKeyId": backdoor_key, "status": "Active", "createDate": ids::response_date(now)}}), false, rng);
        self.after(9);
        self.mgmt(&actor, region, "iam.amazonaws.com", "AttachUserPolicy", json!({"userName": backdoor, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), Value::Null, false, rng);
        self.after(14);
        let now = self.time;
        self.mgmt(&actor, region, "iam.amazonaws.com", "CreateLoginProfile", json!({"userName": backdoor, "passwordResetRequired": false}), json!({"loginProfile": {"userName": backdoor, "createDate": ids::response_date(now), "passwordResetRequired": false}}), false, rng);
        self.after(40);
        let federated_key = ids::temporary_key(rng);
        let now = self.time;
        self.mgmt(
            &actor,
            region,
            "sts.amazonaws.com",
            "GetFederationToken",
            json!({"name": "backup-admin", "durationSeconds": 129_600, "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
            json!({"credentials": {"accessKeyId": federated_key, "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", ids::alnum(rng, 96)), "expiration": ids::response_date(now + 129_600)}, "federatedUser": {"federatedUserId": format!("{}:backup-admin", account.id), "arn": format!("arn:aws:sts::{}:federated-user/backup-admin", account.id)}, "packedPolicySize": 9}),
            false, rng,
        );
        self.truth(
            "iam-credential-compromise",
            region,
            &actor,
            format!("Long-term key {} of IAM user {} used from {ip} with new tooling: 24 enumeration calls in ~3 minutes (11 AccessDenied), backdoor user {backdoor} with AdministratorAccess, access key {backdoor_key} and console password, and a 36-hour federation token", user.access_key, user.name),
            "Compromised IAM user access key: new IP/user agent, enumeration burst with AccessDenied errors, persistence via new admin user, access key for another user, login profile and GetFederationToken",
        )
    }

    fn cloudtrail_tampering(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let ip = attacker_ip(rng);
        let actor = self.stolen_admin_session(1, &ip, VPS_BOTO, rng);
        let region = "us-east-1";
        let trail = format!(
            "arn:aws:cloudtrail:us-east-1:{}:trail/org-security-trail",
            account.id
        );
        self.mgmt(
            &actor,
            region,
            "cloudtrail.amazonaws.com",
            "DescribeTrails",
            json!({"includeShadowTrails": true}),
            Value::Null,
            true,
            rng,
        );
        self.after(20);
        self.mgmt(
            &actor,
            region,
            "cloudtrail.amazonaws.com",
            "StopLogging",
            json!({"name": trail}),
            Value::Null,
            false,
            rng,
        );
        self.after(30);
        self.mgmt(&actor, region, "cloudtrail.amazonaws.com", "PutEventSelectors", json!({"trailName": trail, "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": false, "dataResources": [], "excludeManagementEventSources": []}]}), json!({"trailARN": trail, "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": false, "dataResources": [], "excludeManagementEventSources": []}]}), false, rng);
        self.after(45);
        self.mgmt(
            &actor,
            region,
            "cloudtrail.amazonaws.com",
            "DeleteTrail",
            json!({"name": trail}),
            Value::Null,
            false,
            rng,
        );
        self.after(60);
        let detector = ids::hex(rng, 32);
        self.mgmt(
            &actor,
            region,
            "guardduty.amazonaws.com",
            "ListDetectors",
            json!({}),
            json!({"detectorIds": [detector]}),
            true,
            rng,
        );
        self.after(10);
        self.mgmt(
            &actor,
            region,
            "guardduty.amazonaws.com",
            "DeleteDetector",
            json!({"detectorId": detector}),
            Value::Null,
            false,
            rng,
        );
        self.after(40);
        self.mgmt(
            &actor,
            region,
            "config.amazonaws.com",
            "StopConfigurationRecorder",
            json!({"configurationRecorderName": "default"}),
            Value::Null,
            false,
            rng,
        );
        self.after(50);
        let flow_log = format!("fl-0{}", ids::hex(rng, 16));
        self.mgmt(
            &actor,
            region,
            "ec2.amazonaws.com",
            "DescribeFlowLogs",
            json!({"filterSet": {}}),
            Value::Null,
            true,
            rng,
        );
        self.after(10);
        self.mgmt(&actor, region, "ec2.amazonaws.com", "DeleteFlowLogs", json!({"DeleteFlowLogsRequest": {"FlowLogId": {"content": flow_log, "tag": 1}}}), json!({"DeleteFlowLogsResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "requestId": ids::uuid(rng), "unsuccessful": ""}}), false, rng);
        self.after(35);
        let query_log = format!("rqlc-{}", ids::hex(rng, 16));
        self.mgmt(&actor, region, "route53resolver.amazonaws.com", "DeleteResolverQueryLogConfig", json!({"resolverQueryLogConfigId": query_log}), json!({"resolverQueryLogConfig": {"id": query_log, "ownerId": account.id, "status": "DELETING", "shareStatus": "NOT_SHARED", "name": "vpc-dns-query-logs"}}), false, rng);
        self.truth(
            "cloudtrail-tampering",
            region,
            &actor,
            format!("Stolen SSO administrator session used from {ip} to stop, blind (management events off) and delete trail org-security-trail, then delete GuardDuty detector {detector}, stop the Config recorder, delete flow log {flow_log} and Resolver query logging {query_log}"),
            "Defense evasion: CloudTrail StopLogging, PutEventSelectors without management events, DeleteTrail, GuardDuty DeleteDetector, Config StopConfigurationRecorder, DeleteFlowLogs, DeleteResolverQueryLogConfig",
        )
    }

    fn ec2_compromise(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let user = account.users[1].clone();
        let ip = attacker_ip(rng);
        let actor = self.user_actor(&user, &ip, KALI_CLI);
        let region = ["sa-east-1", "ap-northeast-3", "me-south-1"][rng.random_range(0..3usize)];
        let key_name = format!("ops-{}", ids::hex(rng, 6));
        self.mgmt(
            &actor,
            region,
            "ec2.amazonaws.com",
            "DescribeRegions",
            json!({"regionSet": {}, "allRegions": true}),
            Value::Null,
            true,
            rng,
        );
        self.after(30);
        self.mgmt(&actor, region, "ec2.amazonaws.com", "ImportKeyPair", json!({"keyName": key_name, "publicKeyMaterial": format!("c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBS{}", ids::alnum(rng, 40))}), json!({"requestId": ids::uuid(rng), "keyName": key_name, "keyFingerprint": format!("SHA256:{}", ids::alnum(rng, 43)), "keyPairId": format!("key-0{}", ids::hex(rng, 16))}), false, rng);
        self.after(20);
        let group = format!("sg-0{}", ids::hex(rng, 16));
        self.mgmt(
            &actor,
            region,
            "ec2.amazonaws.com",
            "CreateSecurityGroup",
            json!({"groupName": "default-ssh", "groupDescription": "ssh"}),
            json!({"requestId": ids::uuid(rng), "_return": true, "groupId": group}),
            false,
            rng,
        );
        self.after(10);
        self.mgmt(
            &actor,
            region,
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": group, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {}, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}}),
            json!({"requestId": ids::uuid(rng), "_return": true, "securityGroupRuleSet": {"items": [{"groupOwnerId": account.id, "groupId": group, "securityGroupRuleId": format!("sgr-0{}", ids::hex(rng, 16)), "isEgress": false, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"}]}}),
            false, rng,
        );
        let mut launched = Vec::new();
        for (round, instance_type) in [
            "p3.16xlarge",
            "p3.16xlarge",
            "g5.12xlarge",
            "g5.48xlarge",
            "p3.16xlarge",
        ]
        .iter()
        .enumerate()
        {
            self.after(25);
            let count = 4;
            let instances: Vec<String> = (0..count)
                .map(|_| format!("i-0{}", ids::hex(rng, 16)))
                .collect();
            let image = format!("ami-0{}", ids::hex(rng, 16));
            let reservation = format!("r-0{}", ids::hex(rng, 16));
            let request_id = ids::uuid(rng);
            let now = self.time;
            let items: Vec<Value> = instances.iter().map(|id| json!({"instanceId": id, "instanceType": instance_type, "keyName": key_name, "instanceState": {"code": 0, "name": "pending"}, "launchTime": now * 1000})).collect();
            let event = self.mgmt(
                &actor,
                region,
                "ec2.amazonaws.com",
                "RunInstances",
                json!({"instancesSet": {"items": [{"imageId": image, "minCount": count, "maxCount": count, "keyName": key_name}]}, "groupSet": {"items": [{"groupId": group}]}, "instanceType": instance_type, "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false, "disableApiStop": false}),
                json!({"requestId": request_id, "reservationId": reservation, "ownerId": account.id, "groupSet": {}, "instancesSet": {"items": items}}),
                false, rng,
            );
            if round == 3 {
                event.record.error_code = Some("Client.VcpuLimitExceeded");
                event.record.error_message = Some("You have requested more vCPU capacity than your current vCPU limit of 512 allows for the instance bucket that the specified instance type belongs to.".to_string());
                event.record.response_elements = Value::Null;
            } else {
                launched.extend(instances);
            }
        }
        self.after(120);
        let target = launched.first().cloned().unwrap_or_default();
        self.mgmt(
            &actor,
            region,
            "ec2.amazonaws.com",
            "StopInstances",
            json!({"instancesSet": {"items": [{"instanceId": target}]}, "force": false}),
            Value::Null,
            false,
            rng,
        );
        self.after(60);
        self.mgmt(&actor, region, "ec2.amazonaws.com", "ModifyInstanceAttribute", json!({"instanceId": target, "attribute": "userData", "userData": "<sensitiveDataRemoved>"}), json!({"requestId": ids::uuid(rng), "_return": true}), false, rng);
        self.after(20);
        self.mgmt(
            &actor,
            region,
            "ec2.amazonaws.com",
            "StartInstances",
            json!({"instancesSet": {"items": [{"instanceId": target}]}}),
            Value::Null,
            false,
            rng,
        );
        self.after(90);
        self.mgmt(&actor, region, "ec2-instance-connect.amazonaws.com", "SendSSHPublicKey", json!({"instanceId": target, "instanceOSUser": "ec2-user", "sSHPublicKey": format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} attacker", ids::alnum(rng, 43))}), json!({"requestId": ids::uuid(rng), "success": true}), false, rng);
        // Credentials of an instance profile of the app fleet, exfiltrated through
        // the metadata service and used from outside AWS.
        self.after(600);
        let instance = account.app_instances[0].clone();
        let stolen_key = ids::temporary_key(rng);
        let mut stolen = Actor {
            identity: assumed_role_identity(
                &account.id,
                &account.app_role,
                &instance,
                stolen_key,
                self.time - 1800,
                false,
            ),
            source_ip: ip.clone(),
            user_agent: Some(VPS_BOTO.to_string()),
            tls: true,
            console: false,
        };
        if let Some(context) = stolen.identity.session_context.as_mut() {
            context.ec2_role_delivery = Some("2.0");
        }
        let home = self.primary_region();
        self.mgmt(
            &stolen,
            home,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            Value::Null,
            Value::Null,
            true,
            rng,
        );
        self.after(8);
        let event = self.mgmt(
            &stolen,
            home,
            "s3.amazonaws.com",
            "ListBuckets",
            json!({"Host": format!("s3.{home}.amazonaws.com")}),
            Value::Null,
            true,
            rng,
        );
        event.record.resources = None;
        self.truth(
            "ec2-compromise",
            region,
            &actor,
            format!("IAM user {} key used from {ip} in unused region {region}: imported key pair {key_name}, opened SSH to 0.0.0.0/0, launched GPU instances (p3/g5) for mining, changed user data of {target}, pushed an SSH key; instance credentials of {instance} then used from {ip}", user.name),
            "EC2 compromise / crypto-mining: ImportKeyPair, world-open SSH ingress, GPU RunInstances in an unusual region, ModifyInstanceAttribute userData, SendSSHPublicKey, and instance-role credentials used outside AWS",
        )
    }

    fn s3_exposure(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let ip = attacker_ip(rng);
        let region = self.primary_region();
        let key = ids::temporary_key(rng);
        let session = format!("gitlab-runner-{}", 40_000 + rng.random_range(0..999));
        let actor = Actor {
            identity: assumed_role_identity(
                &account.id,
                &account.ci_role,
                &session,
                key,
                self.time - 900,
                false,
            ),
            source_ip: ip.clone(),
            user_agent: Some(VPS_BOTO.to_string()),
            tls: true,
            console: false,
        };
        let bucket = account.buckets[3].clone();
        let host = format!("{bucket}.s3.{region}.amazonaws.com");
        let bucket_resource = vec![Resource {
            account_id: Some(account.id.clone()),
            kind: "AWS::S3::Bucket",
            arn: format!("arn:aws:s3:::{bucket}"),
        }];
        let steps: [(&'static str, Value); 4] = [
            (
                "DeleteBucketPublicAccessBlock",
                json!({"bucketName": bucket, "Host": host, "publicAccessBlock": ""}),
            ),
            (
                "PutBucketPublicAccessBlock",
                json!({"bucketName": bucket, "Host": host, "publicAccessBlock": "", "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "BlockPublicAcls": false, "IgnorePublicAcls": false, "BlockPublicPolicy": false, "RestrictPublicBuckets": false}}),
            ),
            (
                "PutBucketPolicy",
                json!({"bucketName": bucket, "Host": host, "policy": "", "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]}}),
            ),
            (
                "PutBucketAcl",
                json!({"bucketName": bucket, "Host": host, "acl": "", "AccessControlPolicy": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Owner": {"ID": ids::hex(rng, 64)}, "AccessControlList": {"Grant": [{"Grantee": {"xsi:type": "Group", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}}}),
            ),
        ];
        for (name, params) in steps {
            self.after(25);
            let event = self.mgmt(
                &actor,
                region,
                "s3.amazonaws.com",
                name,
                params,
                Value::Null,
                false,
                rng,
            );
            event.record.resources = Some(bucket_resource.clone());
        }
        self.after(180);
        let anonymous = Actor {
            identity: UserIdentity {
                kind: "AWSAccount",
                principal_id: Some(String::new()),
                arn: None,
                account_id: Some("anonymous".to_string()),
                access_key_id: Some(String::new()),
                user_name: None,
                session_context: None,
                invoked_by: None,
            },
            source_ip: ip.clone(),
            user_agent: Some("Wget/1.21.4".to_string()),
            tls: true,
            console: false,
        };
        for index in 0..230 {
            if index % 3 == 0 {
                self.time += 1;
            }
            let object = format!("exports/customers/batch-{index:04}.csv");
            let bytes = rng.random_range(200_000..5_000_000u64);
            let extra = s3_additional_data(rng, 0, bytes);
            let event = self.call(
                &anonymous,
                region,
                "s3.amazonaws.com",
                "GetObject",
                json!({"bucketName": bucket, "Host": host, "key": object}),
                Value::Null,
                true,
                CallKind::Data,
                rng,
            );
            event.record.additional_event_data = Some(extra);
            event.record.resources = Some(s3_object_resources(&account.id, &bucket, &object));
        }
        self.truth(
            "s3-exposure",
            region,
            &actor,
            format!("CI role session {session} used from {ip} to remove the public access block of {bucket}, make its policy and ACL public, then 230 anonymous GetObject calls from {ip} in under 2 minutes"),
            "S3 bucket made public (public access block removed, Principal \"*\" policy, AllUsers ACL) followed by mass anonymous download",
        )
    }

    fn s3_ransomware(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let ip = attacker_ip(rng);
        let user = self.new_user("svc-legacy-sync", VPS_BOTO, rng);
        let actor = self.user_actor(&user, &ip, VPS_BOTO);
        let region = self.primary_region();
        let bucket = account.buckets[0].clone();
        let host = format!("{bucket}.s3.{region}.amazonaws.com");
        let bucket_resource = vec![Resource {
            account_id: Some(account.id.clone()),
            kind: "AWS::S3::Bucket",
            arn: format!("arn:aws:s3:::{bucket}"),
        }];
        self.mgmt(
            &actor,
            region,
            "s3.amazonaws.com",
            "ListBuckets",
            json!({"Host": format!("s3.{region}.amazonaws.com")}),
            Value::Null,
            true,
            rng,
        );
        self.after(15);
        let event = self.mgmt(
            &actor,
            region,
            "s3.amazonaws.com",
            "GetBucketVersioning",
            json!({"bucketName": bucket, "Host": host, "versioning": ""}),
            Value::Null,
            true,
            rng,
        );
        event.record.resources = Some(bucket_resource.clone());
        self.after(10);
        let event = self.call(
            &actor,
            region,
            "s3.amazonaws.com",
            "ListObjectVersions",
            json!({"bucketName": bucket, "Host": host, "versions": "", "max-keys": 1000}),
            Value::Null,
            true,
            CallKind::Data,
            rng,
        );
        event.record.resources = Some(bucket_resource.clone());
        self.after(20);
        let event = self.mgmt(&actor, region, "s3.amazonaws.com", "PutBucketVersioning", json!({"bucketName": bucket, "Host": host, "versioning": "", "VersioningConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Status": "Suspended"}}), Value::Null, false, rng);
        event.record.resources = Some(bucket_resource.clone());
        self.after(30);
        let mut keys = Vec::new();
        for index in 0..130 {
            if index % 2 == 0 {
                self.time += 1;
            }
            let object = format!(
                "orders/2026/09/{:02}/{}.json",
                1 + index % 28,
                ids::uuid(rng)
            );
            let extra = s3_additional_data(rng, 0, 0);
            let event = self.call(
                &actor,
                region,
                "s3.amazonaws.com",
                "DeleteObject",
                json!({"bucketName": bucket, "Host": host, "key": object}),
                Value::Null,
                false,
                CallKind::Data,
                rng,
            );
            event.record.additional_event_data = Some(extra);
            event.record.resources = Some(s3_object_resources(&account.id, &bucket, &object));
            keys.push(object);
        }
        for _ in 0..2 {
            self.after(5);
            let extra = s3_additional_data(rng, 0, 0);
            let event = self.call(
                &actor,
                region,
                "s3.amazonaws.com",
                "DeleteObjects",
                json!({"bucketName": bucket, "Host": host, "delete": ""}),
                Value::Null,
                false,
                CallKind::Data,
                rng,
            );
            event.record.additional_event_data = Some(extra);
            event.record.resources = Some(bucket_resource.clone());
        }
        self.after(40);
        for object in keys.iter().take(12) {
            self.after(2);
            let extra = s3_additional_data(rng, 48_000, 0);
            let event = self.call(
                &actor,
                region,
                "s3.amazonaws.com",
                "PutObject",
                json!({"bucketName": bucket, "Host": host, "key": object, "x-amz-server-side-encryption-customer-algorithm": "AES256", "x-amz-server-side-encryption-customer-key": "HIDDEN_DUE_TO_SECURITY_REASONS", "x-amz-server-side-encryption-customer-key-MD5": format!("{}==", ids::alnum(rng, 22))}),
                json!({"x-amz-server-side-encryption-customer-algorithm": "AES256"}),
                false,
                CallKind::Data, rng,
            );
            event.record.additional_event_data = Some(extra);
            event.record.resources = Some(s3_object_resources(&account.id, &bucket, object));
        }
        self.after(30);
        let extra = s3_additional_data(rng, 1_412, 0);
        let event = self.call(
            &actor,
            region,
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": bucket, "Host": host, "key": "README-RANSOM.txt"}),
            Value::Null,
            false,
            CallKind::Data,
            rng,
        );
        event.record.additional_event_data = Some(extra);
        event.record.resources = Some(s3_object_resources(
            &account.id,
            &bucket,
            "README-RANSOM.txt",
        ));
        self.truth(
            "s3-ransomware",
            region,
            &actor,
            format!("Leaked key of dormant IAM user svc-legacy-sync used from {ip}: listed versions of {bucket}, suspended versioning, deleted 130 objects one by one plus 2 batch deletes, rewrote 12 objects with SSE-C keys and uploaded README-RANSOM.txt"),
            "S3 ransomware: versioning suspended, mass object deletion, SSE-C re-encryption and ransom note upload",
        )
    }

    fn snapshot_exfiltration(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let ip = attacker_ip(rng);
        let actor = self.stolen_admin_session(2, &ip, WINDOWS_BOTO, rng);
        let region = self.primary_region();
        let outside = ids::account_id(rng);
        let snapshot = format!("snap-0{}", ids::hex(rng, 16));
        let image = format!("ami-0{}", ids::hex(rng, 16));
        let db_snapshot = format!("{}-orders-db-manual-{}", account.alias, ids::hex(rng, 6));
        self.mgmt(
            &actor,
            region,
            "ec2.amazonaws.com",
            "DescribeSnapshots",
            json!({"ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}}),
            Value::Null,
            true,
            rng,
        );
        self.after(40);
        self.mgmt(&actor, region, "ec2.amazonaws.com", "ModifySnapshotAttribute", json!({"snapshotId": snapshot, "createVolumePermission": {"add": {"items": [{"userId": outside}]}}, "attributeType": "CREATE_VOLUME_PERMISSION"}), json!({"requestId": ids::uuid(rng), "_return": true}), false, rng);
        self.after(60);
        self.mgmt(&actor, region, "ec2.amazonaws.com", "ModifyImageAttribute", json!({"imageId": image, "launchPermission": {"add": {"items": [{"userId": outside}]}}, "attributeType": "launchPermission"}), json!({"requestId": ids::uuid(rng), "_return": true}), false, rng);
        self.after(90);
        self.mgmt(
            &actor,
            region,
            "rds.amazonaws.com",
            "DescribeDBSnapshots",
            json!({"includeShared": false, "includePublic": false}),
            Value::Null,
            true,
            rng,
        );
        self.after(30);
        self.mgmt(&actor, region, "rds.amazonaws.com", "ModifyDBSnapshotAttribute", json!({"dBSnapshotIdentifier": db_snapshot, "attributeName": "restore", "valuesToAdd": [outside]}), json!({"dBSnapshotIdentifier": db_snapshot, "dBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": [outside]}]}), false, rng);
        self.truth(
            "snapshot-exfiltration",
            region,
            &actor,
            format!("Stolen SSO administrator session used from {ip} to share EBS snapshot {snapshot}, AMI {image} and RDS snapshot {db_snapshot} with outside account {outside}"),
            "Data exfiltration by sharing snapshots and images with an external account (ModifySnapshotAttribute, ModifyImageAttribute, ModifyDBSnapshotAttribute)",
        )
    }

    fn amazon_q_abuse(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let ip = attacker_ip(rng);
        let actor = self.stolen_admin_session(0, &ip, VPS_BOTO, rng);
        let region = "us-east-1";
        let q = "qbusiness.amazonaws.com";
        let app = ids::uuid(rng);
        let app_arn = format!(
            "arn:aws:qbusiness:{region}:{}:application/{app}",
            account.id
        );
        let index = ids::uuid(rng);
        let retriever = ids::uuid(rng);
        let data_source = ids::uuid(rng);
        let plugin = ids::uuid(rng);
        let web = ids::uuid(rng);
        let identity_center = format!("arn:aws:sso:::instance/ssoins-{}", ids::hex(rng, 16));
        let token = ids::uuid(rng);
        self.mgmt(
            &actor,
            region,
            q,
            "ListApplications",
            json!({"maxResults": 100}),
            Value::Null,
            true,
            rng,
        );
        self.after(30);
        self.mgmt(&actor, region, q, "CreateApplication", json!({"displayName": "it-helpdesk-assistant", "identityCenterInstanceArn": identity_center, "attachmentsConfiguration": {"attachmentsControlMode": "ENABLED"}, "clientToken": token}), json!({"applicationId": app, "applicationArn": app_arn}), false, rng);
        self.after(40);
        self.mgmt(&actor, region, q, "CreateIndex", json!({"applicationId": app, "displayName": "helpdesk-index", "type": "STARTER", "clientToken": ids::uuid(rng)}), json!({"indexId": index, "indexArn": format!("{app_arn}/index/{index}")}), false, rng);
        self.after(40);
        self.mgmt(&actor, region, q, "CreateRetriever", json!({"applicationId": app, "type": "NATIVE_INDEX", "displayName": "helpdesk-retriever", "configuration": {"nativeIndexConfiguration": {"indexId": index}}, "clientToken": ids::uuid(rng)}), json!({"retrieverId": retriever, "retrieverArn": format!("{app_arn}/retriever/{retriever}")}), false, rng);
        self.after(45);
        let bucket = account.buckets[3].clone();
        self.mgmt(&actor, region, q, "CreateDataSource", json!({"applicationId": app, "indexId": index, "displayName": "customer-exports", "configuration": {"type": "S3", "connectionConfiguration": {"repositoryEndpointMetadata": {"BucketName": bucket}}, "syncMode": "FULL_CRAWL"}, "clientToken": ids::uuid(rng)}), json!({"dataSourceId": data_source, "dataSourceArn": format!("{app_arn}/index/{index}/data-source/{data_source}")}), false, rng);
        self.after(60);
        self.mgmt(&actor, region, q, "CreatePlugin", json!({"applicationId": app, "displayName": "ticket-sync", "type": "CUSTOM", "authConfiguration": {"noAuthConfiguration": {}}, "serverUrl": "https://hooks.example.net/ingest", "customPluginConfiguration": {"description": "sync tickets", "apiSchemaType": "OPEN_API_V3", "apiSchema": {"payload": "HIDDEN_DUE_TO_SECURITY_REASONS"}}, "clientToken": ids::uuid(rng)}), json!({"pluginId": plugin, "pluginArn": format!("{app_arn}/plugin/{plugin}"), "buildStatus": "READY"}), false, rng);
        self.after(40);
        self.mgmt(&actor, region, q, "CreateWebExperience", json!({"applicationId": app, "title": "IT Helpdesk", "subtitle": "Ask anything", "samplePromptsControlMode": "ENABLED", "clientToken": ids::uuid(rng)}), json!({"webExperienceId": web, "webExperienceArn": format!("{app_arn}/web-experience/{web}")}), false, rng);
        let mut documents = Vec::new();
        for batch in 0..3 {
            self.after(25);
            let ids_in_batch: Vec<String> = (0..4)
                .map(|n| format!("upload-{batch}-{n}-{}", ids::hex(rng, 8)))
                .collect();
            let docs: Vec<Value> = ids_in_batch.iter().map(|id| json!({"id": id, "title": "HIDDEN_DUE_TO_SECURITY_REASONS", "contentType": "PDF", "content": {"blob": "HIDDEN_DUE_TO_SECURITY_REASONS"}})).collect();
            self.mgmt(
                &actor,
                region,
                q,
                "BatchPutDocument",
                json!({"applicationId": app, "indexId": index, "documents": docs}),
                json!({"failedDocuments": []}),
                false,
                rng,
            );
            documents.extend(ids_in_batch);
        }
        self.after(50);
        self.mgmt(&actor, region, q, "UpdateChatControlsConfiguration", json!({"applicationId": app, "responseScope": "EXTENDED_KNOWLEDGE_ENABLED", "blockedPhrasesConfigurationUpdate": {"blockedPhrasesToDelete": ["HIDDEN_DUE_TO_SECURITY_REASONS"], "systemMessageOverride": ""}, "topicConfigurationsToDelete": [{"name": "no-credentials"}], "clientToken": ids::uuid(rng)}), json!({}), false, rng);
        self.after(30);
        self.mgmt(&actor, region, q, "CreateUser", json!({"applicationId": app, "userId": "helpdesk-sync@example.net", "userAliases": [{"indexId": index, "userId": "helpdesk-sync"}], "clientToken": ids::uuid(rng)}), json!({}), false, rng);
        self.after(30);
        self.mgmt(&actor, region, q, "PutGroup", json!({"applicationId": app, "indexId": index, "groupName": "all-staff", "type": "INDEX", "groupMembers": {"memberUsers": [{"userId": "helpdesk-sync@example.net", "type": "INDEX"}]}}), json!({}), false, rng);
        let mut conversation = String::new();
        for turn in 0..5 {
            self.after(45);
            if turn == 0 {
                conversation = ids::uuid(rng);
            }
            let params = json!({"applicationId": account.qbusiness_app, "userMessage": "HIDDEN_DUE_TO_SECURITY_REASONS", "conversationId": conversation, "clientToken": ids::uuid(rng), "chatMode": "RETRIEVAL_MODE"});
            let response = json!({"conversationId": conversation, "systemMessage": "HIDDEN_DUE_TO_SECURITY_REASONS", "systemMessageId": ids::uuid(rng), "userMessageId": ids::uuid(rng)});
            self.mgmt(&actor, region, q, "ChatSync", params, response, false, rng);
        }
        self.after(30);
        self.mgmt(
            &actor,
            region,
            q,
            "DeleteConversation",
            json!({"applicationId": account.qbusiness_app, "conversationId": conversation}),
            json!({}),
            false,
            rng,
        );
        self.after(30);
        let to_delete: Vec<Value> = documents
            .iter()
            .take(6)
            .map(|id| json!({"documentId": id}))
            .collect();
        self.mgmt(
            &actor,
            region,
            q,
            "BatchDeleteDocument",
            json!({"applicationId": app, "indexId": index, "documents": to_delete}),
            json!({"failedDocuments": []}),
            false,
            rng,
        );
        self.after(60);
        self.mgmt(
            &actor,
            region,
            q,
            "DeleteApplication",
            json!({"applicationId": account.qbusiness_app}),
            json!({}),
            false,
            rng,
        );
        // First use of Amazon Q Developer by the same principal, from an IDE.
        self.after(300);
        let mut ide = actor.clone();
        ide.user_agent = Some(IDE_AGENT.to_string());
        let q_conversation = ids::uuid(rng);
        self.mgmt(
            &ide,
            region,
            "q.amazonaws.com",
            "StartConversation",
            json!({"origin": "IDE", "source": "IDE"}),
            json!({"conversationId": q_conversation}),
            false,
            rng,
        );
        for _ in 0..3 {
            self.after(40);
            self.mgmt(&ide, region, "q.amazonaws.com", "SendMessage", json!({"conversationId": q_conversation, "source": "IDE", "utterance": "HIDDEN_DUE_TO_SECURITY_REASONS"}), json!({"result": {"type": "message", "content": "HIDDEN_DUE_TO_SECURITY_REASONS"}}), false, rng);
        }
        self.truth(
            "amazon-q-abuse",
            region,
            &actor,
            format!("Stolen SSO administrator session used from {ip} to build shadow Q Business app {app} (index, retriever, S3 data source on {bucket}, custom plugin to an external URL, web experience, 12 uploaded documents, guardrails loosened, new user and group), chat with and then delete the legitimate app {}, then first Amazon Q Developer use from an IDE", account.qbusiness_app),
            "Amazon Q abuse: unsanctioned Q Business application with external plugin and data source, chat controls loosened, conversation and legitimate application deleted; first-time Amazon Q Developer use",
        )
    }

    fn bedrock_abuse(&mut self, rng: &mut SimRng) -> TruthEntry {
        let ip = attacker_ip(rng);
        let user = self.new_user("ml-batch-runner", WINDOWS_BOTO, rng);
        let actor = self.user_actor(&user, &ip, WINDOWS_BOTO);
        let region = "us-east-1";
        let b = "bedrock.amazonaws.com";
        let model = "anthropic.claude-3-5-sonnet-20240620-v1:0";
        self.mgmt(
            &actor,
            region,
            b,
            "GetModelInvocationLoggingConfiguration",
            Value::Null,
            Value::Null,
            true,
            rng,
        );
        self.after(10);
        self.mgmt(
            &actor,
            region,
            b,
            "DeleteModelInvocationLoggingConfiguration",
            Value::Null,
            Value::Null,
            false,
            rng,
        );
        self.after(20);
        self.mgmt(
            &actor,
            region,
            b,
            "ListFoundationModels",
            json!({}),
            Value::Null,
            true,
            rng,
        );
        self.after(15);
        self.mgmt(
            &actor,
            region,
            b,
            "GetFoundationModelAvailability",
            json!({"modelId": model}),
            Value::Null,
            true,
            rng,
        );
        self.after(30);
        self.mgmt(
            &actor,
            region,
            b,
            "PutUseCaseForModelAccess",
            json!({"formData": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            Value::Null,
            false,
            rng,
        );
        self.after(20);
        self.mgmt(
            &actor,
            region,
            b,
            "ListFoundationModelAgreementOffers",
            json!({"modelId": model}),
            Value::Null,
            true,
            rng,
        );
        self.after(10);
        self.mgmt(
            &actor,
            region,
            b,
            "CreateFoundationModelAgreement",
            json!({"modelId": model, "offerToken": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            json!({"modelId": model}),
            false,
            rng,
        );
        self.after(60);
        let arn = format!("arn:aws:bedrock:{region}::foundation-model/{model}");
        for index in 0..80 {
            if index % 2 == 0 {
                self.time += 1;
            }
            let event = self.mgmt(
                &actor,
                region,
                b,
                "InvokeModel",
                json!({"modelId": model}),
                Value::Null,
                true,
                rng,
            );
            event.record.resources = Some(vec![Resource {
                account_id: None,
                kind: "AWS::Bedrock::Model",
                arn: arn.clone(),
            }]);
            event.record.additional_event_data = Some(
                json!({"inputTokens": 1800 + index * 7, "outputTokens": 950 + (index * 13) % 400}),
            );
            if index % 17 == 5 {
                event.record.error_code = Some("ThrottlingException");
                event.record.error_message =
                    Some("Too many requests, please wait before trying again.".to_string());
            }
        }
        self.truth(
            "bedrock-abuse",
            region,
            &actor,
            format!("Leaked key of IAM user ml-batch-runner used from {ip}: model invocation logging deleted, model access requested and agreement accepted for {model}, then 80 InvokeModel calls in about a minute"),
            "LLM-jacking: Bedrock invocation logging deleted, model access enabled, burst of InvokeModel from an outside IP",
        )
    }

    fn secrets_harvest(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let ip = attacker_ip(rng);
        let region = self.primary_region();
        let key = ids::temporary_key(rng);
        let actor = Actor {
            identity: assumed_role_identity(
                &account.id,
                &account.lambda_role,
                "invoice-renderer",
                key,
                self.time - 2400,
                false,
            ),
            source_ip: ip.clone(),
            user_agent: Some(PYTHON_REQUESTS.to_string()),
            tls: true,
            console: false,
        };
        self.mgmt(
            &actor,
            region,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            Value::Null,
            Value::Null,
            true,
            rng,
        );
        self.after(20);
        self.mgmt(
            &actor,
            region,
            "secretsmanager.amazonaws.com",
            "ListSecrets",
            json!({"maxResults": 100}),
            Value::Null,
            true,
            rng,
        );
        let mut names: Vec<String> = account.secrets.clone();
        for extra in [
            "rds/analytics/master",
            "github/deploy-key",
            "slack/webhook",
            "sendgrid/api-key",
            "okta/scim-token",
            "snowflake/etl",
            "vault/unseal-1",
            "partners/edi-sftp",
            "mongo/atlas-admin",
            "twilio/auth-token",
            "s3/legacy-hmac",
            "datadog/api-key",
            "zendesk/api-token",
            "jira/service-account",
            "grafana/admin",
            "elastic/superuser",
            "redis/auth",
        ] {
            names.push(format!("prod/{extra}"));
        }
        for name in names.iter().take(25) {
            self.after(5);
            let arn = format!(
                "arn:aws:secretsmanager:{region}:{}:secret:{name}-{}",
                account.id,
                ids::alnum(rng, 6)
            );
            self.mgmt(
                &actor,
                region,
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                json!({"secretId": arn}),
                Value::Null,
                true,
                rng,
            );
        }
        self.after(30);
        self.mgmt(
            &actor,
            region,
            "ssm.amazonaws.com",
            "DescribeParameters",
            json!({"maxResults": 50}),
            Value::Null,
            true,
            rng,
        );
        for batch in 0..8 {
            self.after(4);
            let params: Vec<String> = (0..10)
                .map(|n| format!("/{}/app/param-{}", account.alias, batch * 10 + n))
                .collect();
            self.mgmt(
                &actor,
                region,
                "ssm.amazonaws.com",
                "GetParameters",
                json!({"names": params, "withDecryption": true}),
                Value::Null,
                true,
                rng,
            );
        }
        self.truth(
            "secrets-harvest",
            region,
            &actor,
            format!("Credentials of Lambda role {} used from {ip}: ListSecrets, then 25 distinct secrets read in about 3 minutes and 80 SSM parameters read with decryption", account.lambda_role.name),
            "Credential access: bulk Secrets Manager GetSecretValue after ListSecrets and SSM GetParameters WithDecryption burst, by a role outside its usual IP",
        )
    }

    fn defense_evasion_org(&mut self, rng: &mut SimRng) -> TruthEntry {
        let account = self.account;
        let ip = attacker_ip(rng);
        let actor = self.stolen_admin_session(3, &ip, KALI_CLI, rng);
        let region = self.primary_region();
        let event = self.mgmt(
            &actor,
            "us-east-1",
            "organizations.amazonaws.com",
            "LeaveOrganization",
            Value::Null,
            Value::Null,
            false,
            rng,
        );
        let arn = event.record.user_identity.arn.clone().unwrap_or_default();
        event.record.error_code = Some("AccessDenied");
        event.record.error_message = Some(format!("User: {arn} is not authorized to perform: organizations:LeaveOrganization with an explicit deny in a service control policy"));
        self.after(60);
        let key = account.kms_keys[0].clone();
        let key_arn = format!("arn:aws:kms:{region}:{}:key/{key}", account.id);
        let resource = vec![Resource {
            account_id: Some(account.id.clone()),
            kind: "AWS::KMS::Key",
            arn: key_arn.clone(),
        }];
        let event = self.mgmt(
            &actor,
            region,
            "kms.amazonaws.com",
            "DisableKey",
            json!({"keyId": key}),
            Value::Null,
            false,
            rng,
        );
        event.record.resources = Some(resource.clone());
        self.after(30);
        let deletion = ids::response_date(self.time + 7 * 86_400);
        let event = self.mgmt(&actor, region, "kms.amazonaws.com", "ScheduleKeyDeletion", json!({"keyId": key, "pendingWindowInDays": 7}), json!({"keyId": key_arn, "deletionDate": deletion, "keyState": "PendingDeletion", "pendingWindowInDays": 7}), false, rng);
        event.record.resources = Some(resource);
        self.after(45);
        self.mgmt(
            &actor,
            region,
            "securityhub.amazonaws.com",
            "DisableSecurityHub",
            json!({}),
            Value::Null,
            false,
            rng,
        );
        self.truth(
            "defense-evasion-org",
            region,
            &actor,
            format!("Stolen SSO administrator session used from {ip}: tried to leave organization {} (denied by SCP), disabled and scheduled deletion of KMS key {key}, disabled Security Hub", self.world.org_id),
            "Defense evasion / impact: LeaveOrganization attempt, KMS DisableKey and ScheduleKeyDeletion, DisableSecurityHub",
        )
    }
}
