//! Routine (benign) activity: principals with stable habits, plus look-alike activity
//! that resembles attacker behaviour without being an attack.

use rand::Rng;
use serde_json::{json, Value};

use crate::ids::{self, Civil, SimRng};
use crate::record::{Event, Resource};
use crate::world::{
    assumed_role_identity, aws_ip, federated_identity, iam_user_identity, make_event,
    s3_additional_data, s3_object_resources, service_identity, session_key, Account, Actor, Call,
    CallKind, Role, World, CI_CLI_AGENT, CLI_AGENTS, LAMBDA_AGENT, MONITORING_AGENT,
    TERRAFORM_AGENT,
};
use crate::WINDOW_SECONDS;

/// The kinds of routine activity, each with its own habits.
#[derive(Debug, Clone, Copy)]
enum Activity {
    Monitoring,
    S3App,
    AppKms,
    Ci,
    SsoDeveloper,
    Backup,
    ServiceEvent,
    Lambda,
    IamUser,
    Federated,
    CallerIdentity,
    QBusinessChat,
    LoneAccessDenied,
}

/// Everything a routine generator needs about the unit it fills.
struct Unit<'a> {
    seed: u64,
    org_id: &'a str,
    account: &'a Account,
    account_index: usize,
    region: &'static str,
    window_start: i64,
    global_region: bool,
    /// Weekday office hours (07:00-19:00 UTC), when developers work.
    office: bool,
}

/// Generates exactly `count` routine records for one account, region and window.
pub(crate) fn generate(
    world: &World,
    seed: u64,
    rng: &mut SimRng,
    account_index: usize,
    region: &'static str,
    window_start: i64,
    count: u64,
) -> Vec<Event> {
    let Some(account) = world.accounts.get(account_index) else {
        return Vec::new();
    };
    let civil = Civil::from_unix(window_start);
    let weekend = Civil::weekday_of(window_start) >= 5;
    let office = !weekend && (7..19).contains(&civil.hour);
    let unit = Unit {
        seed,
        org_id: &world.org_id,
        account,
        account_index,
        region,
        window_start,
        global_region: region == "us-east-1",
        office,
    };
    let nightly_backup = (1..4).contains(&civil.hour);
    let table: Vec<(Activity, u32)> = vec![
        (Activity::Monitoring, 280),
        (Activity::S3App, 130),
        (Activity::AppKms, 70),
        (Activity::Ci, if office { 110 } else { 25 }),
        (Activity::SsoDeveloper, if office { 150 } else { 4 }),
        (Activity::Backup, if nightly_backup { 90 } else { 0 }),
        (Activity::ServiceEvent, 45),
        (Activity::Lambda, 55),
        (
            Activity::IamUser,
            if unit.global_region && office { 16 } else { 0 },
        ),
        (Activity::Federated, if office { 14 } else { 2 }),
        (Activity::CallerIdentity, 30),
        (
            Activity::QBusinessChat,
            if unit.global_region && office { 6 } else { 0 },
        ),
        (Activity::LoneAccessDenied, if office { 4 } else { 1 }),
    ];
    let total_weight: u32 = table.iter().map(|(_, weight)| weight).sum();
    let wanted = usize::try_from(count).unwrap_or(usize::MAX);
    let mut events = Vec::with_capacity(wanted);
    while events.len() < wanted {
        let mut pick = rng.random_range(0..total_weight);
        let mut activity = Activity::Monitoring;
        for (candidate, weight) in &table {
            if pick < *weight {
                activity = *candidate;
                break;
            }
            pick -= weight;
        }
        let time = window_start + rng.random_range(0..WINDOW_SECONDS);
        let before = events.len();
        unit.emit(rng, activity, time, &mut events);
        // Occasionally a client omits its user agent (real logs have a few of these).
        if events.len() > before && rng.random_range(0..400u32) == 0 {
            events[before].record.user_agent = None;
        }
    }
    events.truncate(wanted);
    events
}

/// Picks one element of a non-empty slice.
fn pick<'a, T>(rng: &mut SimRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn kms_key_arn(account: &Account, region: &str, key: &str) -> String {
    format!("arn:aws:kms:{region}:{}:key/{key}", account.id)
}

fn session_token(rng: &mut SimRng) -> String {
    format!("IQoJb3JpZ2luX2VjE{}", ids::alnum(rng, 96))
}

impl Unit<'_> {
    /// The last second of this unit's window.
    fn window_end(&self) -> i64 {
        self.window_start + WINDOW_SECONDS - 1
    }

    /// An actor for an assumed-role session that renews its key every hour.
    fn role_actor(
        &self,
        role: &Role,
        session: &str,
        ip: &str,
        agent: Option<&str>,
        time: i64,
        console: bool,
    ) -> Actor {
        let session_start = time - time.rem_euclid(3600);
        let key = session_key(self.seed, &format!("{}/{session}", role.arn), session_start);
        Actor {
            identity: assumed_role_identity(
                &self.account.id,
                role,
                session,
                key,
                session_start,
                false,
            ),
            source_ip: ip.to_string(),
            user_agent: agent.map(str::to_string),
            tls: true,
            console,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        actor: &Actor,
        time: i64,
        source: &'static str,
        name: &'static str,
        params: Value,
        response: Value,
        read_only: bool,
        kind: CallKind,
        rng: &mut SimRng,
    ) -> Event {
        make_event(
            rng,
            Call {
                actor,
                time,
                account: self.account_index,
                recipient: &self.account.id,
                region: self.region,
                source,
                name,
                params,
                response,
                read_only,
                kind,
            },
        )
    }

    fn emit(&self, rng: &mut SimRng, activity: Activity, time: i64, out: &mut Vec<Event>) {
        match activity {
            Activity::Monitoring => self.monitoring(rng, time, out),
            Activity::S3App => self.s3_app(rng, time, out),
            Activity::AppKms => self.app_kms(rng, time, out),
            Activity::Ci => self.ci(rng, time, out),
            Activity::SsoDeveloper => self.sso_developer(rng, time, out),
            Activity::Backup => self.backup(rng, time, out),
            Activity::ServiceEvent => self.service_event(rng, time, out),
            Activity::Lambda => self.lambda(rng, time, out),
            Activity::IamUser => self.iam_user(rng, time, out),
            Activity::Federated => self.federated(rng, time, out),
            Activity::CallerIdentity => self.caller_identity(rng, time, out),
            Activity::QBusinessChat => self.qbusiness_chat(rng, time, out),
            Activity::LoneAccessDenied => self.lone_access_denied(rng, time, out),
        }
    }

    /// A monitoring vendor polling Describe*/List*/Get* all day from fixed IPs.
    fn monitoring(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let ip = pick(rng, &account.monitoring_ips).clone();
        let actor = self.role_actor(
            &account.monitoring_role,
            "DatadogAWSIntegration",
            &ip,
            Some(MONITORING_AGENT),
            time,
            false,
        );
        let bucket = pick(rng, &account.buckets).clone();
        let (source, name, params): (&'static str, &'static str, Value) = match rng
            .random_range(0..14u8)
        {
            0 => (
                "ec2.amazonaws.com",
                "DescribeInstances",
                json!({"instancesSet": {}, "filterSet": {}}),
            ),
            1 => (
                "ec2.amazonaws.com",
                "DescribeVolumes",
                json!({"volumeSet": {}, "filterSet": {}, "maxResults": 500}),
            ),
            2 => (
                "ec2.amazonaws.com",
                "DescribeSecurityGroups",
                json!({"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}),
            ),
            3 => (
                "ec2.amazonaws.com",
                "DescribeSnapshots",
                json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {}}),
            ),
            4 | 5 => {
                let end = time - time.rem_euclid(60);
                (
                    "monitoring.amazonaws.com",
                    "GetMetricData",
                    json!({
                        "metricDataQueries": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/EC2", "metricName": "CPUUtilization", "dimensions": [{"name": "InstanceId", "value": pick(rng, &account.app_instances)}]}, "period": 60, "stat": "Average"}, "returnData": true}],
                        "startTime": ids::response_date(end - 600),
                        "endTime": ids::response_date(end),
                        "scanBy": "TimestampDescending"
                    }),
                )
            }
            6 => (
                "monitoring.amazonaws.com",
                "DescribeAlarms",
                json!({"maxRecords": 100}),
            ),
            7 => (
                "rds.amazonaws.com",
                "DescribeDBInstances",
                json!({"maxRecords": 100}),
            ),
            8 => (
                "elasticloadbalancing.amazonaws.com",
                "DescribeLoadBalancers",
                json!({"pageSize": 400}),
            ),
            9 => (
                "lambda.amazonaws.com",
                "ListFunctions20150331",
                json!({"maxItems": 50}),
            ),
            10 => (
                "tagging.amazonaws.com",
                "GetResources",
                json!({"resourcesPerPage": 100, "resourceTypeFilters": ["ec2:instance", "rds:db", "s3"]}),
            ),
            11 => (
                "logs.amazonaws.com",
                "DescribeLogGroups",
                json!({"limit": 50}),
            ),
            12 => (
                "s3.amazonaws.com",
                "GetBucketTagging",
                json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{}.amazonaws.com", self.region), "tagging": ""}),
            ),
            _ => (
                "s3.amazonaws.com",
                "GetBucketLocation",
                json!({"bucketName": bucket, "Host": format!("{bucket}.s3.amazonaws.com"), "location": ""}),
            ),
        };
        let mut event = self.call(
            &actor,
            time,
            source,
            name,
            params,
            Value::Null,
            true,
            CallKind::Management,
            rng,
        );
        if source == "s3.amazonaws.com" {
            event.record.additional_event_data = Some(s3_additional_data(rng, 0, 0));
            event.record.resources = Some(vec![Resource {
                account_id: Some(account.id.clone()),
                kind: "AWS::S3::Bucket",
                arn: format!("arn:aws:s3:::{bucket}"),
            }]);
            if name == "GetBucketTagging" && rng.random_range(0..3u8) == 0 {
                event.record.error_code = Some("NoSuchTagSet");
                event.record.error_message = Some("The TagSet does not exist".to_string());
            }
        }
        out.push(event);
    }

    /// The S3 application role reading and writing objects, with the KMS calls S3
    /// makes on its behalf.
    fn s3_app(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let slot = rng.random_range(0..account.app_instances.len());
        let instance = &account.app_instances[slot];
        let mut actor = self.role_actor(
            &account.app_role,
            instance,
            &account.app_ips[slot],
            Some(crate::world::APP_AGENT),
            time,
            false,
        );
        if let Some(context) = actor.identity.session_context.as_mut() {
            context.ec2_role_delivery = Some("2.0");
        }
        let bucket = &account.buckets[0];
        let civil = Civil::from_unix(time);
        let key = format!(
            "orders/{:04}/{:02}/{:02}/ord-{}.json",
            civil.year,
            civil.month,
            civil.day,
            ids::hex(rng, 10)
        );
        let put = rng.random_range(0..10u8) < 3;
        let host = format!("{bucket}.s3.{}.amazonaws.com", self.region);
        let key_arn = kms_key_arn(account, self.region, &account.kms_keys[0]);
        let size: u64 = rng.random_range(800..250_000);
        let mut event = if put {
            self.call(&actor,
                time,
                "s3.amazonaws.com",
                "PutObject",
                json!({"bucketName": bucket, "Host": host, "key": key}),
                json!({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": key_arn, "x-amz-version-id": ids::alnum(rng, 32)}),
                false,
                CallKind::Data, rng,
            )
        } else {
            self.call(
                &actor,
                time,
                "s3.amazonaws.com",
                "GetObject",
                json!({"bucketName": bucket, "Host": host, "key": key}),
                Value::Null,
                true,
                CallKind::Data,
                rng,
            )
        };
        event.record.additional_event_data = Some(s3_additional_data(
            rng,
            if put { size } else { 0 },
            if put { 0 } else { size },
        ));
        event.record.resources = Some(s3_object_resources(&account.id, bucket, &key));
        if slot % 2 == 1 {
            // Half the fleet reaches S3 through the gateway endpoint, from private IPs.
            event.record.source_ip_address = format!("10.20.{}.{}", 16 + slot, 10 + slot * 7);
            event.record.vpc_endpoint_id = Some(account.s3_vpc_endpoint.clone());
        }
        if !put && rng.random_range(0..300u16) == 0 {
            // A stale key: real apps hit a few of these.
            event.record.error_code = Some("NoSuchKey");
            event.record.error_message = Some("The specified key does not exist.".to_string());
        }
        out.push(event);
        if rng.random_range(0..10u8) < 3 {
            let mut via_s3 = actor.clone();
            via_s3.identity.invoked_by = Some("s3.amazonaws.com".to_string());
            via_s3.source_ip = "s3.amazonaws.com".to_string();
            via_s3.user_agent = Some("s3.amazonaws.com".to_string());
            via_s3.tls = false;
            let context = json!({"encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::{bucket}/{key}")}});
            let (name, params) = if put {
                (
                    "GenerateDataKey",
                    json!({"encryptionContext": context["encryptionContext"], "keyId": key_arn, "keySpec": "AES_256"}),
                )
            } else {
                (
                    "Decrypt",
                    json!({"encryptionContext": context["encryptionContext"], "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
                )
            };
            let mut kms = self.call(
                &via_s3,
                time.min(self.window_end()),
                "kms.amazonaws.com",
                name,
                params,
                Value::Null,
                true,
                CallKind::Management,
                rng,
            );
            kms.record.resources = Some(vec![Resource {
                account_id: Some(account.id.clone()),
                kind: "AWS::KMS::Key",
                arn: key_arn,
            }]);
            out.push(kms);
        }
    }

    /// The application decrypting configuration and data keys all day.
    fn app_kms(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let slot = rng.random_range(0..account.app_instances.len());
        let actor = self.role_actor(
            &account.app_role,
            &account.app_instances[slot],
            &account.app_ips[slot],
            Some(crate::world::APP_AGENT),
            time,
            false,
        );
        let key_arn = kms_key_arn(account, self.region, &account.kms_keys[1]);
        let generate = rng.random_range(0..3u8) == 0;
        let (name, params) = if generate {
            (
                "GenerateDataKey",
                json!({"keyId": key_arn, "encryptionContext": {"service": "orders-api", "purpose": "payload"}, "numberOfBytes": 32}),
            )
        } else {
            (
                "Decrypt",
                json!({"encryptionContext": {"service": "orders-api", "purpose": "payload"}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            )
        };
        let mut event = self.call(
            &actor,
            time,
            "kms.amazonaws.com",
            name,
            params,
            Value::Null,
            true,
            CallKind::Management,
            rng,
        );
        event.record.resources = Some(vec![Resource {
            account_id: Some(account.id.clone()),
            kind: "AWS::KMS::Key",
            arn: key_arn,
        }]);
        out.push(event);
    }

    /// The CI role: Terraform refreshes, tags, deployments, artifact uploads, and the
    /// look-alikes (private-CIDR ingress, t3/m5 launches, org-limited bucket policy).
    fn ci(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let ip = pick(rng, &account.ci_ips).clone();
        let pipeline = 48_000 + (time / 1800) % 5000;
        let session = format!("gitlab-runner-{pipeline}");
        let terraform = rng.random_range(0..3u8) > 0;
        let agent = if terraform {
            TERRAFORM_AGENT
        } else {
            CI_CLI_AGENT
        };
        // Terraform runs in the deployment role the CI role chains into (see AssumeRole below).
        let actor = if terraform && rng.random_range(0..2u8) == 0 {
            self.role_actor(
                &account.deploy_role,
                &format!("terraform-{pipeline}"),
                &ip,
                Some(agent),
                time,
                false,
            )
        } else {
            self.role_actor(&account.ci_role, &session, &ip, Some(agent), time, false)
        };
        let roll = rng.random_range(0..100u8);
        let event = match roll {
            0..=39 => {
                let name = *pick(rng, &["DescribeInstances", "DescribeSecurityGroups", "DescribeSubnets", "DescribeVpcs", "DescribeLaunchTemplates"]);
                self.call(&actor, time, "ec2.amazonaws.com", name, json!({"filterSet": {"items": [{"name": "tag:ManagedBy", "valueSet": {"items": [{"value": "terraform"}]}}]}}), Value::Null, true, CallKind::Management, rng)
            }
            40..=49 => {
                let resource = pick(rng, &account.app_instances).clone();
                self.call(&actor,
                    time,
                    "ec2.amazonaws.com",
                    "CreateTags",
                    json!({"resourcesSet": {"items": [{"resourceId": resource}]}, "tagSet": {"items": [{"key": "Pipeline", "value": pipeline.to_string()}, {"key": "ManagedBy", "value": "terraform"}]}}),
                    json!({"requestId": ids::uuid(rng), "_return": true}),
                    false,
                    CallKind::Management, rng,
                )
            }
            50..=51 => self.ci_run_instances(rng, &actor, time),
            52 => {
                let group = account.security_groups[0].clone();
                self.call(&actor,
                    time,
                    "ec2.amazonaws.com",
                    "AuthorizeSecurityGroupIngress",
                    json!({"groupId": group, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {}, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8", "description": "internal services"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}}),
                    json!({"requestId": ids::uuid(rng), "_return": true, "securityGroupRuleSet": {"items": [{"groupOwnerId": account.id, "groupId": group, "securityGroupRuleId": format!("sgr-0{}", ids::hex(rng, 16)), "isEgress": false, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/8", "description": "internal services"}]}}),
                    false,
                    CallKind::Management, rng,
                )
            }
            53 => {
                let bucket = account.buckets[1].clone();
                let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "OrgRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*"), "Condition": {"StringEquals": {"aws:PrincipalOrgID": self.org_id}}}]});
                let mut event = self.call(&actor,
                    time,
                    "s3.amazonaws.com",
                    "PutBucketPolicy",
                    json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{}.amazonaws.com", self.region), "bucketPolicy": policy, "policy": ""}),
                    Value::Null,
                    false,
                    CallKind::Management, rng,
                );
                event.record.additional_event_data = Some(s3_additional_data(rng, 0, 0));
                event.record.resources = Some(vec![Resource { account_id: Some(account.id.clone()), kind: "AWS::S3::Bucket", arn: format!("arn:aws:s3:::{bucket}") }]);
                event
            }
            54..=69 => {
                let bucket = account.buckets[1].clone();
                let key = format!("builds/{pipeline}/{}.tar.gz", pick(rng, &["orders-api", "invoice-renderer", "web-frontend"]));
                let mut event = self.call(&actor,
                    time,
                    "s3.amazonaws.com",
                    "PutObject",
                    json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{}.amazonaws.com", self.region), "key": key}),
                    json!({"x-amz-server-side-encryption": "AES256", "x-amz-version-id": ids::alnum(rng, 32)}),
                    false,
                    CallKind::Data, rng,
                );
                event.record.additional_event_data = Some({ let size = rng.random_range(2_000_000..80_000_000); s3_additional_data(rng, size, 0) });
                event.record.resources = Some(s3_object_resources(&account.id, &bucket, &key));
                event
            }
            70..=77 => self.call(&actor, time, "ecr.amazonaws.com", "DescribeImages", json!({"repositoryName": "orders-api", "imageIds": [{"imageTag": format!("build-{pipeline}")}]}), Value::Null, true, CallKind::Management, rng),
            78..=83 => self.call(&actor,
                time,
                "lambda.amazonaws.com",
                "UpdateFunctionCode20150331v2",
                json!({"functionName": "invoice-renderer", "s3Bucket": account.buckets[1], "s3Key": format!("builds/{pipeline}/invoice-renderer.zip"), "publish": true}),
                json!({"functionName": "invoice-renderer", "functionArn": format!("arn:aws:lambda:{}:{}:function:invoice-renderer", self.region, account.id), "runtime": "python3.12", "role": account.lambda_role.arn, "handler": "app.handler", "codeSize": rng.random_range(2_000_000..9_000_000u64), "timeout": 30, "memorySize": 512, "version": (time / 3600 % 500).to_string(), "state": "Pending", "lastUpdateStatus": "InProgress"}),
                false,
                CallKind::Management, rng,
            ),
            84..=91 => self.call(&actor, time, "cloudformation.amazonaws.com", "DescribeStacks", json!({"stackName": format!("{}-orders-api", account.alias)}), Value::Null, true, CallKind::Management, rng),
            _ => {
                // Role chaining: the CI role assumes the Terraform deployment role.
                let session_name = format!("terraform-{pipeline}");
                let new_key = ids::temporary_key(rng);
                let ci_actor = self.role_actor(&account.ci_role, &session, &ip, Some(CI_CLI_AGENT), time, false);
                let mut event = self.call(&ci_actor,
                    time,
                    "sts.amazonaws.com",
                    "AssumeRole",
                    json!({"roleArn": account.deploy_role.arn, "roleSessionName": session_name, "durationSeconds": 3600}),
                    json!({
                        "credentials": {"accessKeyId": new_key, "sessionToken": session_token(rng), "expiration": ids::response_date(time + 3600)},
                        "assumedRoleUser": {"assumedRoleId": format!("{}:{session_name}", account.deploy_role.role_id), "arn": format!("arn:aws:sts::{}:assumed-role/{}/{session_name}", account.id, account.deploy_role.name)}
                    }),
                    true,
                    CallKind::Management, rng,
                );
                event.record.resources = Some(vec![Resource { account_id: Some(account.id.clone()), kind: "AWS::IAM::Role", arn: account.deploy_role.arn.clone() }]);
                event
            }
        };
        out.push(event);
    }

    fn ci_run_instances(&self, rng: &mut SimRng, actor: &Actor, time: i64) -> Event {
        let account = self.account;
        let instance_type = *pick(rng, &["t3.medium", "t3.large", "m5.large", "m5.xlarge"]);
        let instance_id = format!("i-0{}", ids::hex(rng, 16));
        let subnet = pick(rng, &account.subnets).clone();
        self.call(actor,
            time,
            "ec2.amazonaws.com",
            "RunInstances",
            json!({
                "instancesSet": {"items": [{"imageId": format!("ami-0{}", ids::hex(rng, 16)), "minCount": 1, "maxCount": 1}]},
                "instanceType": instance_type,
                "blockDeviceMapping": {},
                "monitoring": {"enabled": false},
                "subnetId": subnet,
                "disableApiTermination": false,
                "disableApiStop": false,
                "clientToken": format!("terraform-{}", ids::hex(rng, 26)),
                "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "ManagedBy", "value": "terraform"}, {"key": "Service", "value": "orders-api"}]}]}
            }),
            json!({
                "requestId": ids::uuid(rng),
                "reservationId": format!("r-0{}", ids::hex(rng, 16)),
                "ownerId": account.id,
                "groupSet": {},
                "instancesSet": {"items": [{"instanceId": instance_id, "instanceType": instance_type, "instanceState": {"code": 0, "name": "pending"}, "subnetId": subnet, "vpcId": account.vpc_id, "privateIpAddress": format!("10.20.{}.{}", rng.random_range(0..64u8), rng.random_range(4..250u8)), "launchTime": time * 1000}]}
            }),
            false,
            CallKind::Management, rng,
        )
    }

    /// SSO developers in office hours, through the console or the CLI.
    fn sso_developer(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let developer = pick(rng, &account.developers).clone();
        let console = rng.random_range(0..2u8) == 0;
        let role = if rng.random_range(0..4u8) == 0 {
            &account.sso_roles[1]
        } else {
            &account.sso_roles[0]
        };
        let agent = if console {
            "AWS Internal"
        } else {
            developer.cli
        };
        let actor = self.role_actor(
            role,
            developer.email,
            &developer.ip,
            Some(agent),
            time,
            console,
        );
        let event = match rng.random_range(0..10u8) {
            0 | 1 => self.call(&actor, time, "ec2.amazonaws.com", "DescribeInstances", json!({"instancesSet": {}, "filterSet": {}, "maxResults": 1000}), Value::Null, true, CallKind::Management, rng),
            2 => {
                let group = "/aws/lambda/invoice-renderer";
                self.call(&actor, time, "logs.amazonaws.com", "FilterLogEvents", json!({"logGroupName": group, "startTime": (time - 3600) * 1000, "endTime": time * 1000, "filterPattern": "ERROR", "interleaved": true}), Value::Null, true, CallKind::Management, rng)
            }
            3 => self.call(&actor, time, "logs.amazonaws.com", "StartQuery", json!({"logGroupNames": ["/ecs/orders-api"], "startTime": time - 86_400, "endTime": time, "queryString": "fields @timestamp, @message | filter level = 'error' | sort @timestamp desc | limit 100"}), json!({"queryId": ids::uuid(rng)}), true, CallKind::Management, rng),
            4 => self.call(&actor, time, "ecs.amazonaws.com", "DescribeServices", json!({"cluster": format!("{}-cluster", account.alias), "services": ["orders-api"]}), Value::Null, true, CallKind::Management, rng),
            5 => self.call(&actor, time, "lambda.amazonaws.com", "GetFunction20150331v2", json!({"functionName": "invoice-renderer"}), Value::Null, true, CallKind::Management, rng),
            6 => self.call(&actor, time, "ssm.amazonaws.com", "GetParameter", json!({"name": format!("/{}/orders-api/feature-flags", account.alias), "withDecryption": false}), Value::Null, true, CallKind::Management, rng),
            7 => self.call(&actor, time, "cloudformation.amazonaws.com", "ListStacks", json!({"stackStatusFilter": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]}), Value::Null, true, CallKind::Management, rng),
            8 => self.call(&actor, time, "rds.amazonaws.com", "DescribeDBClusters", json!({"includeShared": false}), Value::Null, true, CallKind::Management, rng),
            _ => {
                let bucket = account.buckets[3].clone();
                let key = format!("exports/{}/daily-report.csv", ids::event_time(time - 86_400).get(..10).unwrap_or("2026-10-01"));
                let mut event = self.call(&actor, time, "s3.amazonaws.com", "GetObject", json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{}.amazonaws.com", self.region), "key": key, "response-content-disposition": "inline"}), Value::Null, true, CallKind::Data, rng);
                event.record.additional_event_data = Some({ let size = rng.random_range(10_000..2_000_000); s3_additional_data(rng, 0, size) });
                event.record.resources = Some(s3_object_resources(&account.id, &bucket, &key));
                event
            }
        };
        out.push(event);
    }

    /// AWS Backup taking (not sharing) nightly snapshots.
    fn backup(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let mut actor = self.role_actor(
            &account.backup_role,
            "AWSBackup-AWSBackupDefaultServiceRole",
            "backup.amazonaws.com",
            Some("backup.amazonaws.com"),
            time,
            false,
        );
        actor.identity.invoked_by = Some("backup.amazonaws.com".to_string());
        actor.tls = false;
        let volume = pick(rng, &account.volumes).clone();
        let snapshot = format!("snap-0{}", ids::hex(rng, 16));
        let event = match rng.random_range(0..10u8) {
            0..=4 => self.call(&actor,
                time,
                "ec2.amazonaws.com",
                "CreateSnapshot",
                json!({"volumeId": volume, "description": "This snapshot is created by the AWS Backup service.", "tagSpecificationSet": {"items": [{"resourceType": "snapshot", "tags": [{"key": "aws:backup:source-resource", "value": format!("{volume}:{}", ids::uuid(rng))}]}]}}),
                json!({"requestId": ids::uuid(rng), "snapshotId": snapshot, "volumeId": volume, "status": "pending", "startTime": time * 1000, "progress": "", "ownerId": account.id, "description": "This snapshot is created by the AWS Backup service.", "volumeSize": *pick(rng, &[20u32, 50, 100, 500]), "encrypted": true, "kmsKeyId": kms_key_arn(account, self.region, &account.kms_keys[2])}),
                false,
                CallKind::Management, rng,
            ),
            5..=7 => self.call(&actor, time, "ec2.amazonaws.com", "DescribeSnapshots", json!({"snapshotSet": {"items": [{"snapshotId": snapshot}]}, "ownersSet": {}, "sharedUsersSet": {}, "filterSet": {}}), Value::Null, true, CallKind::Management, rng),
            _ => self.call(&actor, time, "ec2.amazonaws.com", "DeleteSnapshot", json!({"snapshotId": snapshot}), json!({"requestId": ids::uuid(rng), "_return": true}), false, CallKind::Management, rng),
        };
        out.push(event);
    }

    /// AWS services acting on their own: role assumption for Lambda and EC2, auto
    /// scaling health checks, KMS key rotation.
    fn service_event(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let roll = rng.random_range(0..20u8);
        if roll == 0 {
            let actor = Actor {
                identity: crate::record::UserIdentity {
                    account_id: Some(account.id.clone()),
                    ..service_identity("kms.amazonaws.com")
                },
                source_ip: "kms.amazonaws.com".to_string(),
                user_agent: Some("kms.amazonaws.com".to_string()),
                tls: false,
                console: false,
            };
            let key_arn = kms_key_arn(account, self.region, pick(rng, &account.kms_keys).as_str());
            let mut event = self.call(
                &actor,
                time,
                "kms.amazonaws.com",
                "RotateKey",
                Value::Null,
                Value::Null,
                false,
                CallKind::ServiceEvent,
                rng,
            );
            event.record.user_identity.kind = "AWSService";
            event.record.additional_event_data = Some(json!({"keyId": key_arn}));
            event.record.resources = Some(vec![Resource {
                account_id: Some(account.id.clone()),
                kind: "AWS::KMS::Key",
                arn: key_arn,
            }]);
            out.push(event);
            return;
        }
        if roll < 5 {
            let role = Role {
                name: "AWSServiceRoleForAutoScaling".to_string(),
                role_id: format!("AROA{}", ids::key_chars(&mut ids::rng_for(self.seed, &[ids::label(&account.id), 77]), 17)),
                arn: format!("arn:aws:iam::{}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", account.id),
            };
            let mut actor = self.role_actor(
                &role,
                "AutoScaling",
                "autoscaling.amazonaws.com",
                Some("autoscaling.amazonaws.com"),
                time,
                false,
            );
            actor.identity.invoked_by = Some("autoscaling.amazonaws.com".to_string());
            actor.tls = false;
            let instances: Vec<Value> = account
                .app_instances
                .iter()
                .map(|id| json!({"instanceId": id}))
                .collect();
            out.push(self.call(&actor, time, "ec2.amazonaws.com", "DescribeInstanceStatus", json!({"instancesSet": {"items": instances}, "filterSet": {}, "includeAllInstances": false}), Value::Null, true, CallKind::Management, rng));
            return;
        }
        let (service, role, session) = if roll < 13 {
            (
                "lambda.amazonaws.com",
                &account.lambda_role,
                "invoice-renderer".to_string(),
            )
        } else {
            (
                "ec2.amazonaws.com",
                &account.app_role,
                pick(rng, &account.app_instances).clone(),
            )
        };
        let actor = Actor {
            identity: service_identity(service),
            source_ip: service.to_string(),
            user_agent: Some(service.to_string()),
            tls: false,
            console: false,
        };
        let new_key = ids::temporary_key(rng);
        let mut event = self.call(&actor,
            time,
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": role.arn, "roleSessionName": session, "durationSeconds": if service == "lambda.amazonaws.com" { 43_200 } else { 21_600 }}),
            json!({
                "credentials": {"accessKeyId": new_key, "sessionToken": session_token(rng), "expiration": ids::response_date(time + 21_600)},
                "assumedRoleUser": {"assumedRoleId": format!("{}:{session}", role.role_id), "arn": format!("arn:aws:sts::{}:assumed-role/{}/{session}", account.id, role.name)}
            }),
            true,
            CallKind::Management, rng,
        );
        event.record.resources = Some(vec![Resource {
            account_id: Some(account.id.clone()),
            kind: "AWS::IAM::Role",
            arn: role.arn.clone(),
        }]);
        event.record.shared_event_id = None;
        out.push(event);
    }

    /// The Lambda function reading templates, decrypting and reading its configuration.
    fn lambda(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let session_start = time - time.rem_euclid(3600);
        let ip = aws_ip(&mut ids::rng_for(
            self.seed,
            &[ids::label(&account.id), session_start as u64, 3],
        ));
        let actor = self.role_actor(
            &account.lambda_role,
            "invoice-renderer",
            &ip,
            Some(LAMBDA_AGENT),
            time,
            false,
        );
        let event = match rng.random_range(0..10u8) {
            0..=5 => {
                let bucket = account.buckets[0].clone();
                let key = format!("templates/invoice-{}.html", pick(rng, &["en", "de", "fr", "es"]));
                let mut event = self.call(&actor, time, "s3.amazonaws.com", "GetObject", json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{}.amazonaws.com", self.region), "key": key}), Value::Null, true, CallKind::Data, rng);
                event.record.additional_event_data = Some({ let size = rng.random_range(4_000..40_000); s3_additional_data(rng, 0, size) });
                event.record.resources = Some(s3_object_resources(&account.id, &bucket, &key));
                event
            }
            6..=8 => {
                let key_arn = kms_key_arn(account, self.region, &account.kms_keys[1]);
                let mut event = self.call(&actor, time, "kms.amazonaws.com", "Decrypt", json!({"encryptionContext": {"LambdaFunctionName": "invoice-renderer"}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}), Value::Null, true, CallKind::Management, rng);
                event.record.resources = Some(vec![Resource { account_id: Some(account.id.clone()), kind: "AWS::KMS::Key", arn: key_arn }]);
                event
            }
            _ => self.call(&actor, time, "ssm.amazonaws.com", "GetParameter", json!({"name": format!("/{}/invoice-renderer/template-version", account.alias), "withDecryption": false}), Value::Null, true, CallKind::Management, rng),
        };
        out.push(event);
    }

    /// Legacy IAM users: reading their own settings, MFA console logins, and rotating
    /// their own access key (create new, deactivate and delete old).
    fn iam_user(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let user = pick(rng, &account.users).clone();
        let roll = rng.random_range(0..40u8);
        if roll < 6 {
            let actor = Actor {
                identity: crate::record::UserIdentity {
                    access_key_id: None,
                    ..iam_user_identity(&account.id, &user, "")
                },
                source_ip: user.home_ip.clone(),
                user_agent: Some(crate::world::BROWSER_AGENTS[0].to_string()),
                tls: false,
                console: false,
            };
            let mut event = self.call(
                &actor,
                time,
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
                "MFAIdentifier": format!("arn:aws:iam::{}:mfa/{}", account.id, user.name),
                "MFAUsed": "Yes"
            }));
            out.push(event);
            return;
        }
        let actor = Actor {
            identity: iam_user_identity(&account.id, &user, &user.access_key),
            source_ip: user.home_ip.clone(),
            user_agent: Some(user.user_agent.to_string()),
            tls: true,
            console: false,
        };
        if roll == 6 {
            // Rotation of the user's own key.
            let new_key = ids::long_term_key(rng);
            let old_key = ids::long_term_key(rng);
            let created = self.call(&actor,
                time,
                "iam.amazonaws.com",
                "CreateAccessKey",
                json!({"userName": user.name}),
                json!({"accessKey": {"userName": user.name, "accessKeyId": new_key, "status": "Active", "createDate": ids::response_date(time)}}),
                false,
                CallKind::Management, rng,
            );
            out.push(created);
            let later = (time + 20).min(self.window_end());
            out.push(self.call(
                &actor,
                later,
                "iam.amazonaws.com",
                "UpdateAccessKey",
                json!({"userName": user.name, "accessKeyId": old_key, "status": "Inactive"}),
                Value::Null,
                false,
                CallKind::Management,
                rng,
            ));
            let last = (time + 45).min(self.window_end());
            out.push(self.call(
                &actor,
                last,
                "iam.amazonaws.com",
                "DeleteAccessKey",
                json!({"userName": user.name, "accessKeyId": old_key}),
                Value::Null,
                false,
                CallKind::Management,
                rng,
            ));
            return;
        }
        let (name, params) = match roll % 4 {
            0 => ("GetUser", json!({"userName": user.name})),
            1 => ("ListAccessKeys", json!({"userName": user.name})),
            2 => ("ListMFADevices", json!({"userName": user.name})),
            _ => ("ListAttachedUserPolicies", json!({"userName": user.name})),
        };
        out.push(self.call(
            &actor,
            time,
            "iam.amazonaws.com",
            name,
            params,
            Value::Null,
            true,
            CallKind::Management,
            rng,
        ));
    }

    /// Federated users of the legacy reporting broker.
    fn federated(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let name = *pick(rng, &["reporting-bob", "reporting-carol", "finance-export"]);
        let session_start = time - time.rem_euclid(3600);
        let key = session_key(self.seed, &format!("{}/{name}", account.id), session_start);
        let actor = Actor {
            identity: federated_identity(
                &account.id,
                &account.broker_user,
                name,
                key,
                session_start,
            ),
            source_ip: account.developers[0].ip.clone(),
            user_agent: Some(CLI_AGENTS[2].to_string()),
            tls: true,
            console: false,
        };
        let bucket = account.buckets[3].clone();
        let key = format!(
            "exports/finance/{}.parquet",
            ids::event_time(time).get(..10).unwrap_or("2026-10-01")
        );
        let mut event = self.call(&actor, time, "s3.amazonaws.com", "GetObject", json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{}.amazonaws.com", self.region), "key": key}), Value::Null, true, CallKind::Data, rng);
        event.record.additional_event_data = Some({
            let size = rng.random_range(100_000..9_000_000);
            s3_additional_data(rng, 0, size)
        });
        event.record.resources = Some(s3_object_resources(&account.id, &bucket, &key));
        out.push(event);
    }

    /// `GetCallerIdentity` at SDK start-up by assumed roles.
    fn caller_identity(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        // Developers start their SDKs in office hours; the CI role and the poller any time.
        let choices = if self.office { 3 } else { 2 };
        let actor = match rng.random_range(0..choices) {
            0 => {
                let ip = pick(rng, &account.ci_ips).clone();
                let pipeline = 48_000 + (time / 1800) % 5000;
                self.role_actor(
                    &account.ci_role,
                    &format!("gitlab-runner-{pipeline}"),
                    &ip,
                    Some(CI_CLI_AGENT),
                    time,
                    false,
                )
            }
            2 => {
                let developer = pick(rng, &account.developers).clone();
                self.role_actor(
                    &account.sso_roles[0],
                    developer.email,
                    &developer.ip,
                    Some(developer.cli),
                    time,
                    false,
                )
            }
            _ => {
                let ip = pick(rng, &account.monitoring_ips).clone();
                self.role_actor(
                    &account.monitoring_role,
                    "DatadogAWSIntegration",
                    &ip,
                    Some(MONITORING_AGENT),
                    time,
                    false,
                )
            }
        };
        out.push(self.call(
            &actor,
            time,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            Value::Null,
            Value::Null,
            true,
            CallKind::Management,
            rng,
        ));
    }

    /// A developer chatting with the company's Amazon Q Business assistant.
    fn qbusiness_chat(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        let developer = pick(rng, &account.developers).clone();
        let actor = self.role_actor(
            &account.sso_roles[0],
            developer.email,
            &developer.ip,
            Some(developer.browser),
            time,
            false,
        );
        let conversation = ids::uuid(rng);
        out.push(self.call(&actor,
            time,
            "qbusiness.amazonaws.com",
            "ChatSync",
            json!({"applicationId": account.qbusiness_app, "userMessage": "HIDDEN_DUE_TO_SECURITY_REASONS", "conversationId": conversation, "clientToken": ids::uuid(rng), "chatMode": "RETRIEVAL_MODE"}),
            json!({"conversationId": conversation, "systemMessage": "HIDDEN_DUE_TO_SECURITY_REASONS", "systemMessageId": ids::uuid(rng), "userMessageId": ids::uuid(rng), "sourceAttributions": []}),
            false,
            CallKind::Management, rng,
        ));
    }

    /// One isolated permission error (a principal trying something outside its policy).
    fn lone_access_denied(&self, rng: &mut SimRng, time: i64, out: &mut Vec<Event>) {
        let account = self.account;
        // In office hours a developer with the read-only set; at night the poller.
        let actor = if self.office {
            let developer = pick(rng, &account.developers).clone();
            self.role_actor(
                &account.sso_roles[1],
                developer.email,
                &developer.ip,
                Some(developer.cli),
                time,
                false,
            )
        } else {
            let ip = pick(rng, &account.monitoring_ips).clone();
            self.role_actor(
                &account.monitoring_role,
                "DatadogAWSIntegration",
                &ip,
                Some(MONITORING_AGENT),
                time,
                false,
            )
        };
        let arn = actor.identity.arn.clone().unwrap_or_default();
        let mut event = if rng.random_range(0..2u8) == 0 {
            let mut event = self.call(
                &actor,
                time,
                "ec2.amazonaws.com",
                "DescribeVpcEndpoints",
                json!({"vpcEndpointId": {}, "filterSet": {}}),
                Value::Null,
                true,
                CallKind::Management,
                rng,
            );
            event.record.error_code = Some("Client.UnauthorizedOperation");
            event.record.error_message = Some(format!("You are not authorized to perform this operation. User: {arn} is not authorized to perform: ec2:DescribeVpcEndpoints because no identity-based policy allows the ec2:DescribeVpcEndpoints action"));
            event
        } else {
            let mut event = self.call(
                &actor,
                time,
                "elasticfilesystem.amazonaws.com",
                "DescribeFileSystems",
                json!({"maxItems": 100}),
                Value::Null,
                true,
                CallKind::Management,
                rng,
            );
            event.record.error_code = Some("AccessDenied");
            event.record.error_message = Some(format!("User: {arn} is not authorized to perform: elasticfilesystem:DescribeFileSystems on the specified resource"));
            event
        };
        event.record.response_elements = Value::Null;
        out.push(event);
    }
}
