//! The Arrow schemas of the two stored tables, `cloudtrail` (events) and `findings`,
//! and their column names (see the case-store contract).
//!
//! The `cloudtrail` columns are Athena's documented CloudTrail columns, all lower case,
//! plus three of ours: `event_ts` (parsed `eventtime`), `raw` (the record's JSON text as
//! read) and `source` (the input it came from).

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Column names of the `cloudtrail` table.
pub mod col {
    /// `eventVersion`.
    pub const EVENT_VERSION: &str = "eventversion";
    /// `userIdentity` (a struct).
    pub const USER_IDENTITY: &str = "useridentity";
    /// `eventTime`, as logged.
    pub const EVENT_TIME: &str = "eventtime";
    /// `eventSource`.
    pub const EVENT_SOURCE: &str = "eventsource";
    /// `eventName`.
    pub const EVENT_NAME: &str = "eventname";
    /// `awsRegion`.
    pub const AWS_REGION: &str = "awsregion";
    /// `sourceIPAddress`.
    pub const SOURCE_IP_ADDRESS: &str = "sourceipaddress";
    /// `userAgent`.
    pub const USER_AGENT: &str = "useragent";
    /// `errorCode`.
    pub const ERROR_CODE: &str = "errorcode";
    /// `errorMessage`.
    pub const ERROR_MESSAGE: &str = "errormessage";
    /// `requestParameters` (JSON text).
    pub const REQUEST_PARAMETERS: &str = "requestparameters";
    /// `responseElements` (JSON text).
    pub const RESPONSE_ELEMENTS: &str = "responseelements";
    /// `additionalEventData` (JSON text).
    pub const ADDITIONAL_EVENT_DATA: &str = "additionaleventdata";
    /// `requestID`.
    pub const REQUEST_ID: &str = "requestid";
    /// `eventID`.
    pub const EVENT_ID: &str = "eventid";
    /// `resources` (a list of structs).
    pub const RESOURCES: &str = "resources";
    /// `eventType`.
    pub const EVENT_TYPE: &str = "eventtype";
    /// `apiVersion`.
    pub const API_VERSION: &str = "apiversion";
    /// `readOnly` (`"true"`/`"false"`).
    pub const READ_ONLY: &str = "readonly";
    /// `recipientAccountId`.
    pub const RECIPIENT_ACCOUNT_ID: &str = "recipientaccountid";
    /// `serviceEventDetails` (JSON text).
    pub const SERVICE_EVENT_DETAILS: &str = "serviceeventdetails";
    /// `sharedEventID`.
    pub const SHARED_EVENT_ID: &str = "sharedeventid";
    /// `vpcEndpointId`.
    pub const VPC_ENDPOINT_ID: &str = "vpcendpointid";
    /// `vpcEndpointAccountId`.
    pub const VPC_ENDPOINT_ACCOUNT_ID: &str = "vpcendpointaccountid";
    /// `eventCategory`.
    pub const EVENT_CATEGORY: &str = "eventcategory";
    /// `addendum` (JSON text).
    pub const ADDENDUM: &str = "addendum";
    /// `sessionCredentialFromConsole`.
    pub const SESSION_CREDENTIAL_FROM_CONSOLE: &str = "sessioncredentialfromconsole";
    /// `edgeDeviceDetails` (JSON text).
    pub const EDGE_DEVICE_DETAILS: &str = "edgedevicedetails";
    /// `tlsDetails` (a struct).
    pub const TLS_DETAILS: &str = "tlsdetails";
    /// Ours: `eventtime` parsed, `Timestamp(ms, UTC)`.
    pub const EVENT_TS: &str = "event_ts";
    /// Ours: the whole record's JSON text as read.
    pub const RAW: &str = "raw";
    /// Ours: the input the record came from.
    pub const SOURCE: &str = "source";
}

/// Column names of the `findings` table.
pub mod finding_col {
    /// The rule's id.
    pub const RULE_ID: &str = "rule_id";
    /// The rule's title.
    pub const RULE_TITLE: &str = "rule_title";
    /// The rule's author(s).
    pub const RULE_AUTHOR: &str = "rule_author";
    /// `informational|low|medium|high|critical`.
    pub const LEVEL: &str = "level";
    /// The file the rule came from.
    pub const RULE_ORIGIN: &str = "rule_origin";
    /// `event|correlation`.
    pub const KIND: &str = "kind";
    /// The event's `eventID`.
    pub const EVENT_ID: &str = "event_id";
    /// The event's `eventTime`.
    pub const EVENT_TIME: &str = "event_time";
    /// The event's `eventSource`.
    pub const EVENT_SOURCE: &str = "event_source";
    /// The event's `eventName`.
    pub const EVENT_NAME: &str = "event_name";
    /// `userIdentity.arn`.
    pub const PRINCIPAL_ARN: &str = "principal_arn";
    /// `userIdentity.accessKeyId`.
    pub const ACCESS_KEY_ID: &str = "access_key_id";
    /// `sourceIPAddress`.
    pub const SOURCE_IP: &str = "source_ip";
    /// `userAgent`.
    pub const USER_AGENT: &str = "user_agent";
    /// `recipientAccountId`, else `userIdentity.accountId`.
    pub const ACCOUNT_ID: &str = "account_id";
    /// `awsRegion`.
    pub const REGION: &str = "region";
    /// `errorCode`.
    pub const ERROR_CODE: &str = "error_code";
    /// The rule's tags.
    pub const TAGS: &str = "tags";
    /// JSON text of the correlation window (group/count/first/last/event_ids).
    pub const CORRELATION: &str = "correlation";
    /// The input the event came from.
    pub const SOURCE: &str = "source";
    /// The finding's time, `Timestamp(ms, UTC)`.
    pub const EVENT_TS: &str = "event_ts";
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn utf8_fields(names: &[&str]) -> Fields {
    names.iter().map(|n| utf8(n)).collect()
}

/// The `event_ts` type: `Timestamp(Millisecond, "UTC")`.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// Fields of `useridentity.sessioncontext.attributes`.
pub fn attributes_fields() -> Fields {
    utf8_fields(&["mfaauthenticated", "creationdate"])
}

/// Fields of `useridentity.sessioncontext.sessionissuer`.
pub fn session_issuer_fields() -> Fields {
    utf8_fields(&["type", "principalid", "arn", "accountid", "username"])
}

/// Fields of `useridentity.sessioncontext`.
pub fn session_context_fields() -> Fields {
    Fields::from(vec![
        Field::new("attributes", DataType::Struct(attributes_fields()), true),
        Field::new(
            "sessionissuer",
            DataType::Struct(session_issuer_fields()),
            true,
        ),
        utf8("sourceidentity"),
        utf8("ec2roledelivery"),
    ])
}

/// Fields of `useridentity.onbehalfof`.
pub fn on_behalf_of_fields() -> Fields {
    utf8_fields(&["userid", "identitystorearn"])
}

/// Fields of `useridentity`.
pub fn user_identity_fields() -> Fields {
    let mut fields: Vec<Field> = [
        "type",
        "principalid",
        "arn",
        "accountid",
        "invokedby",
        "accesskeyid",
        "username",
    ]
    .iter()
    .map(|n| utf8(n))
    .collect();
    fields.push(Field::new(
        "sessioncontext",
        DataType::Struct(session_context_fields()),
        true,
    ));
    fields.push(Field::new(
        "onbehalfof",
        DataType::Struct(on_behalf_of_fields()),
        true,
    ));
    fields.push(utf8("identitystorearn"));
    fields.push(utf8("credentialid"));
    Fields::from(fields)
}

/// Fields of one `resources` element.
pub fn resource_fields() -> Fields {
    utf8_fields(&["arn", "accountid", "type"])
}

/// The element field of the `resources` list.
pub fn resource_item_field() -> Arc<Field> {
    Arc::new(Field::new(
        "item",
        DataType::Struct(resource_fields()),
        true,
    ))
}

/// Fields of `tlsdetails`.
pub fn tls_details_fields() -> Fields {
    utf8_fields(&["tlsversion", "ciphersuite", "clienthostheader"])
}

/// The `cloudtrail` table's schema (events/*.parquet).
pub fn cloudtrail_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            use col::*;
            let fields = vec![
                utf8(EVENT_VERSION),
                Field::new(
                    USER_IDENTITY,
                    DataType::Struct(user_identity_fields()),
                    true,
                ),
                utf8(EVENT_TIME),
                utf8(EVENT_SOURCE),
                utf8(EVENT_NAME),
                utf8(AWS_REGION),
                utf8(SOURCE_IP_ADDRESS),
                utf8(USER_AGENT),
                utf8(ERROR_CODE),
                utf8(ERROR_MESSAGE),
                utf8(REQUEST_PARAMETERS),
                utf8(RESPONSE_ELEMENTS),
                utf8(ADDITIONAL_EVENT_DATA),
                utf8(REQUEST_ID),
                utf8(EVENT_ID),
                Field::new(RESOURCES, DataType::List(resource_item_field()), true),
                utf8(EVENT_TYPE),
                utf8(API_VERSION),
                utf8(READ_ONLY),
                utf8(RECIPIENT_ACCOUNT_ID),
                utf8(SERVICE_EVENT_DETAILS),
                utf8(SHARED_EVENT_ID),
                utf8(VPC_ENDPOINT_ID),
                utf8(VPC_ENDPOINT_ACCOUNT_ID),
                utf8(EVENT_CATEGORY),
                utf8(ADDENDUM),
                utf8(SESSION_CREDENTIAL_FROM_CONSOLE),
                utf8(EDGE_DEVICE_DETAILS),
                Field::new(TLS_DETAILS, DataType::Struct(tls_details_fields()), true),
                Field::new(EVENT_TS, timestamp_type(), true),
                utf8(RAW),
                utf8(SOURCE),
            ];
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The `findings` table's schema (findings/*.parquet).
pub fn findings_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            use finding_col::*;
            let mut fields: Vec<Field> = [
                RULE_ID,
                RULE_TITLE,
                RULE_AUTHOR,
                LEVEL,
                RULE_ORIGIN,
                KIND,
                EVENT_ID,
                EVENT_TIME,
                EVENT_SOURCE,
                EVENT_NAME,
                PRINCIPAL_ARN,
                ACCESS_KEY_ID,
                SOURCE_IP,
                USER_AGENT,
                ACCOUNT_ID,
                REGION,
                ERROR_CODE,
            ]
            .iter()
            .map(|n| utf8(n))
            .collect();
            fields.push(Field::new(
                TAGS,
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ));
            fields.push(utf8(CORRELATION));
            fields.push(utf8(SOURCE));
            fields.push(Field::new(EVENT_TS, timestamp_type(), true));
            Arc::new(Schema::new(fields))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_lower_case_and_unique() {
        for schema in [cloudtrail_schema(), findings_schema()] {
            let mut seen = std::collections::HashSet::new();
            for f in schema.fields() {
                assert_eq!(f.name(), &f.name().to_ascii_lowercase());
                assert!(
                    seen.insert(f.name().clone()),
                    "duplicate column {}",
                    f.name()
                );
            }
        }
        assert_eq!(cloudtrail_schema().fields().len(), 32);
        assert!(cloudtrail_schema().field_with_name(col::EVENT_TS).is_ok());
        assert!(findings_schema()
            .field_with_name(finding_col::CORRELATION)
            .is_ok());
    }
}
