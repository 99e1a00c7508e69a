//! What steps may name: the respond commands (actions), the case queries, and the rules.

/// A parameter of an action or query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// Name as written in `params`.
    pub name: &'static str,
    /// Whether it must be given.
    pub required: bool,
    /// Whether it is a flag (`true` / `false`).
    pub flag: bool,
    /// What it is.
    pub help: &'static str,
}

const fn req(name: &'static str, help: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        required: true,
        flag: false,
        help,
    }
}
const fn opt(name: &'static str, help: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        required: false,
        flag: false,
        help,
    }
}
const fn flag(name: &'static str, required: bool, help: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        required,
        flag: true,
        help,
    }
}

/// A respond command a playbook `action` step may plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionSpec {
    /// The command as written (`contain access-key`), i.e. `firebreak contain access-key`.
    pub name: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
}

/// The respond commands of `firebreak contain|eradicate|recover`.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "contain access-key",
        summary: "deactivate an access key, optionally revoking sessions issued with it",
        params: &[
            req("access_key_id", "the access key id (AKIA...)"),
            opt("user", "the key's user (looked up when absent)"),
            flag("revoke_sessions", false, "deny sessions issued before now"),
        ],
    },
    ActionSpec {
        name: "contain instance",
        summary: "isolate an instance: capture, protect, quarantine, detach, deregister, snapshot, tag",
        params: &[
            req("instance_id", "the instance id (i-...)"),
            opt("forensic_account", "share the forensic snapshots with this account"),
            opt("ticket", "ticket reference for the tags"),
            flag("decrement_capacity", false, "lower the Auto Scaling group's desired capacity"),
            opt("quarantine_group", "name of the quarantine security group"),
        ],
    },
    ActionSpec {
        name: "contain role",
        summary: "revoke a role's active sessions",
        params: &[req("role_name", "the role name"), flag("revoke_sessions", true, "must be true")],
    },
    ActionSpec {
        name: "contain bucket",
        summary: "block public access to a bucket",
        params: &[req("bucket", "the bucket name"), flag("block_public", true, "must be true")],
    },
    ActionSpec {
        name: "eradicate user",
        summary: "delete a user with its keys, login profile, MFA, policies and groups",
        params: &[req("user_name", "the user name")],
    },
    ActionSpec {
        name: "eradicate role",
        summary: "delete a role with its instance profiles and policies",
        params: &[req("role_name", "the role name")],
    },
    ActionSpec {
        name: "eradicate policy",
        summary: "detach a customer-managed policy everywhere and delete it",
        params: &[req("policy_arn", "the policy ARN")],
    },
    ActionSpec {
        name: "eradicate access-key",
        summary: "delete an access key",
        params: &[req("access_key_id", "the access key id"), opt("user", "the key's user")],
    },
    ActionSpec {
        name: "eradicate qbusiness-app",
        summary: "delete a Q Business application, optionally its retrievers, data sources and plugins first",
        params: &[
            req("application_id", "the application id"),
            flag("with_retrievers", false, "delete its retrievers"),
            flag("with_data_sources", false, "delete its data sources"),
            flag("with_plugins", false, "delete its plugins"),
        ],
    },
    ActionSpec {
        name: "recover cloudtrail",
        summary: "start logging and restore the trail's multi-region, global-events and validation settings",
        params: &[req("trail", "the trail name or ARN")],
    },
];

/// Finds an action by name.
pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// A query over the case a `query` step or a `question` may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuerySpecDef {
    /// Name (`timeline`).
    pub name: &'static str,
    /// What it returns.
    pub summary: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
    /// At least one of these must be given (empty: no such rule).
    pub one_of: &'static [&'static str],
    /// The result columns it always has.
    pub columns: &'static [&'static str],
}

const SINCE: ParamSpec = opt("since", "start of the window (RFC 3339 or a case fact)");
const UNTIL: ParamSpec = opt("until", "end of the window");

/// The query catalogue the case's investigate commands implement.
pub const QUERIES: &[QuerySpecDef] = &[
    QuerySpecDef {
        name: "timeline",
        summary: "events in time order for a pivot",
        params: &[
            opt("access_key", "an access key id"),
            opt("principal", "a principal ARN or name"),
            opt("ip", "a source IP address"),
            opt("resource", "a resource name or ARN"),
            opt("event_name", "an API call name"),
            opt("event_source", "a service endpoint (s3.amazonaws.com)"),
            SINCE,
            UNTIL,
        ],
        one_of: &[
            "access_key",
            "principal",
            "ip",
            "resource",
            "event_name",
            "event_source",
        ],
        columns: &[
            "eventtime",
            "eventsource",
            "eventname",
            "principal",
            "access_key",
            "sourceipaddress",
            "useragent",
            "resource",
            "errorcode",
        ],
    },
    QuerySpecDef {
        name: "summary",
        summary: "counts per principal, key, IP, service and call",
        params: &[opt("principal", "limit to a principal"), SINCE, UNTIL],
        one_of: &[],
        columns: &[
            "dimension",
            "value",
            "count",
            "errors",
            "first_seen",
            "last_seen",
        ],
    },
    QuerySpecDef {
        name: "resources",
        summary: "resources created or deleted, and by whom",
        params: &[
            req("change", "created, deleted or any"),
            opt("principal", "limit to a principal"),
            opt("event_source", "limit to a service"),
            SINCE,
            UNTIL,
        ],
        one_of: &[],
        columns: &[
            "eventtime",
            "change",
            "resource",
            "resource_type",
            "principal",
            "eventname",
        ],
    },
    QuerySpecDef {
        name: "anomalies",
        summary: "first-seen principals, IPs, user agents, regions and calls",
        params: &[opt("principal", "limit to a principal"), SINCE, UNTIL],
        one_of: &[],
        columns: &["kind", "value", "first_seen", "principal", "count", "compared_with"],
    },
    QuerySpecDef {
        name: "sql",
        summary: "a SELECT over table cloudtrail with Athena column names",
        params: &[req("sql", "the SELECT statement")],
        one_of: &[],
        columns: &[],
    },
];

/// Finds a query by name.
pub fn query(name: &str) -> Option<&'static QuerySpecDef> {
    QUERIES.iter().find(|q| q.name == name)
}

/// Top-level columns of table `cloudtrail` (Athena's CloudTrail table names).
pub const CLOUDTRAIL_COLUMNS: &[&str] = &[
    "eventversion",
    "useridentity",
    "eventtime",
    "eventsource",
    "eventname",
    "awsregion",
    "sourceipaddress",
    "useragent",
    "errorcode",
    "errormessage",
    "requestparameters",
    "responseelements",
    "additionaleventdata",
    "requestid",
    "eventid",
    "resources",
    "eventtype",
    "apiversion",
    "readonly",
    "recipientaccountid",
    "serviceeventdetails",
    "sharedeventid",
    "vpcendpointid",
    "tlsdetails",
    "eventcategory",
];

/// A rule lint can check `detect` selectors against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownRule {
    /// Rule id.
    pub id: String,
    /// Rule title.
    pub title: String,
    /// Rule tags.
    pub tags: Vec<String>,
    /// Where it was loaded from (`builtin:aws/amazon_q/...yml`).
    pub origin: String,
}

/// What lint checks references against.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// The rules `detect` steps may select.
    pub rules: Vec<KnownRule>,
}

impl Catalogue {
    /// A catalogue with firebreak's built-in rule pack.
    pub fn builtin() -> Catalogue {
        let mut loader = firebreak_detect::RuleLoader::new(firebreak_detect::Limits::default());
        loader.add_builtin();
        let (set, _) = loader.finish();
        Catalogue::from_rules(set.rules())
    }

    /// A catalogue from loaded rules.
    pub fn from_rules(rules: &[firebreak_detect::RuleMeta]) -> Catalogue {
        Catalogue {
            rules: rules
                .iter()
                .map(|m| KnownRule {
                    id: m.id.clone(),
                    title: m.title.clone(),
                    tags: m.tags.clone(),
                    origin: m.origin.clone(),
                })
                .collect(),
        }
    }

    /// The rules a selector picks.
    pub fn select<'a>(
        &'a self,
        selector: &'a crate::model::RuleSelector,
    ) -> impl Iterator<Item = &'a KnownRule> + 'a {
        self.rules.iter().filter(move |r| {
            if let Some(id) = &selector.id {
                return r.id.eq_ignore_ascii_case(id);
            }
            if let Some(title) = &selector.title {
                return r.title.eq_ignore_ascii_case(title);
            }
            if let Some(tag) = &selector.tag {
                let tag = tag.to_ascii_lowercase();
                return r.tags.iter().any(|t| {
                    let t = t.to_ascii_lowercase();
                    t == tag
                        || t.strip_prefix(&tag)
                            .is_some_and(|rest| rest.starts_with('.'))
                });
            }
            if let Some(origin) = &selector.origin {
                return r.origin.contains(origin.as_str());
            }
            false
        })
    }
}
