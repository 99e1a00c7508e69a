//! Typed errors of the response actions.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Everything that can go wrong while planning, applying or rolling back an action.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The caller lacks an IAM permission: names the denied action.
    #[error("permission denied: the caller may not call {action} ({message}); grant {action} to the identity firebreak runs as")]
    AccessDenied {
        /// The IAM action that was denied (`iam:UpdateAccessKey`).
        action: String,
        /// The service's message.
        message: String,
    },
    /// Any other error returned by an AWS API.
    #[error("{action} failed: {code}: {message}")]
    Api {
        /// The IAM action / API call (`ec2:CreateSnapshot`).
        action: String,
        /// The service's error code (empty when the request never reached the service).
        code: String,
        /// The service's message or the transport error.
        message: String,
    },
    /// The resource does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The caller is in another account than the one the command names.
    #[error("refusing to act: the command names account {expected} but the credentials are for account {actual} ({arn})")]
    AccountMismatch {
        /// The account named in the command.
        expected: String,
        /// The caller's account.
        actual: String,
        /// The caller's ARN.
        arn: String,
    },
    /// The resource carries the protection tag.
    #[error("refusing to act on {resource}: it is tagged {tag_key}={tag_value} (protected); pass --force to act anyway")]
    Protected {
        /// The protected resource.
        resource: String,
        /// The protection tag key.
        tag_key: String,
        /// Its value.
        tag_value: String,
    },
    /// The command's arguments are unusable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The SDK could not be configured (profile, region, role...).
    #[error("AWS configuration: {0}")]
    Config(String),
    /// The case folder or its action log failed.
    #[error(transparent)]
    Evidence(#[from] firebreak_evidence::EvidenceError),
    /// The action log has no entry with this id.
    #[error("case {case} has no action {action_id}")]
    UnknownAction {
        /// The case name.
        case: String,
        /// The id asked for.
        action_id: String,
    },
    /// An action-log entry could not be understood.
    #[error("action {action_id} of the case log cannot be read: {reason}")]
    BadLogRecord {
        /// The entry's id.
        action_id: String,
        /// Why.
        reason: String,
    },
    /// A result could not be serialised.
    #[error("cannot serialise: {0}")]
    Json(#[from] serde_json::Error),
}

/// Shorthand for results of this crate.
pub type Result<T, E = AwsError> = std::result::Result<T, E>;

/// The error codes AWS services use for a denied permission.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
    "Forbidden",
];

/// Is this error code a permission denial?
pub fn is_denied_code(code: &str) -> bool {
    DENIED_CODES.contains(&code)
}

/// The error code of an SDK error, if the service returned one.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<String> {
    err.code().map(str::to_string)
}

/// Finds `<Code>X</Code>` / `<Message>X</Message>` in an XML error body the SDK's parser
/// did not understand (moto answers IAM denials in the EC2 `<Errors><Error>` shape).
fn xml_field(body: &str, field: &str) -> Option<String> {
    let open = format!("<{field}>");
    let close = format!("</{field}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    Some(body[start..end].to_string())
}

/// Code and message of an error, reading the raw HTTP response when the SDK found none;
/// also whether the HTTP status was 403.
pub(crate) fn code_and_message<E>(err: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> (Option<String>, Option<String>, bool)
where
    E: ProvideErrorMetadata,
{
    let mut code = err.code().map(str::to_string);
    let mut message = err.message().map(str::to_string);
    let mut forbidden = false;
    if let Some(raw) = err.raw_response() {
        forbidden = raw.status().as_u16() == 403;
        if code.is_none() {
            if let Some(bytes) = raw.body().bytes() {
                let body = String::from_utf8_lossy(bytes);
                code = xml_field(&body, "Code");
                if message.is_none() {
                    message = xml_field(&body, "Message");
                }
            }
        }
    }
    (code, message, forbidden)
}

/// Maps an SDK error to a typed error naming the IAM action.
pub fn api_error<E>(action: &str, err: SdkError<E, aws_smithy_runtime_api::http::Response>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message, forbidden) = code_and_message(&err);
    let code = code.unwrap_or_default();
    let message = message.unwrap_or_else(|| DisplayErrorContext(&err).to_string());
    if is_denied_code(&code) || (code.is_empty() && forbidden) {
        return AwsError::AccessDenied { action: action.to_string(), message };
    }
    if code.contains("NotFound") || code.starts_with("NoSuch") {
        return AwsError::NotFound { what: format!("{message} ({action}: {code})") };
    }
    AwsError::Api { action: action.to_string(), code, message }
}
