//! `eradicate qbusiness-app` against recorded HTTP exchanges (moto does not serve Q Business).
//! The exchanges follow the Q Business API's documented REST/JSON shapes; the SDK's
//! `StaticReplayClient` answers them in order and records the requests, which are checked
//! (method and path) afterwards.

mod common;

use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use common::temp_case;
use firebreak_aws::sdk::config::{BehaviorVersion, Region, SdkConfig};
use firebreak_aws::sdk::qbusiness::config::{Credentials, SharedCredentialsProvider};
use firebreak_aws::{ApplyOptions, AwsError, CallerIdentity, Guardrails, Request, Responder, Session, StepStatus};

const APP: &str = "a1b2c3d4-app";
const ARN: &str = "arn:aws:qbusiness:us-east-1:123456789012:application/a1b2c3d4-app";
const HOST: &str = "https://qbusiness.us-east-1.api.aws";

fn exchange(method: &str, path: &str, status: u16, body: &str) -> ReplayEvent {
    let request = http::Request::builder().method(method).uri(format!("{HOST}{path}")).body(SdkBody::empty()).unwrap();
    let mut response = http::Response::builder().status(status).header("content-type", "application/json");
    if status >= 400 {
        let kind = serde_json::from_str::<serde_json::Value>(body).ok().and_then(|v| v["__type"].as_str().map(String::from)).unwrap_or_default();
        response = response.header("x-amzn-ErrorType", kind);
    }
    ReplayEvent::new(request, response.body(SdkBody::from(body.to_string())).unwrap())
}

fn responder(events: Vec<ReplayEvent>) -> (Responder, StaticReplayClient) {
    let client = StaticReplayClient::new(events);
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(firebreak_aws::session::default_retry_config())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("AKIDTEST", "secret", None, None, "test")))
        .http_client(client.clone())
        .build();
    let identity = CallerIdentity { account: "123456789012".into(), arn: "arn:aws:iam::123456789012:user/responder".into(), user_id: "AIDTEST".into() };
    let session = Session::from_config(config, identity).unwrap();
    (Responder::new(session), client)
}

fn calls(client: &StaticReplayClient) -> Vec<String> {
    client
        .actual_requests()
        .map(|r| {
            let uri = r.uri().to_string();
            let path = uri.strip_prefix(HOST).unwrap_or(&uri).split('?').next().unwrap_or_default().to_string();
            format!("{} {}", r.method(), path)
        })
        .collect()
}

const GET_APP: &str = r#"{"applicationId":"a1b2c3d4-app","applicationArn":"arn:aws:qbusiness:us-east-1:123456789012:application/a1b2c3d4-app","displayName":"leaky-assistant","status":"ACTIVE"}"#;
const PLUGINS: &str = r#"{"plugins":[{"pluginId":"plug-1","displayName":"exfil","type":"CUSTOM","serverUrl":"https://collector.example","state":"ENABLED"}]}"#;
const INDICES: &str = r#"{"indices":[{"indexId":"idx-1","displayName":"docs","status":"ACTIVE"}]}"#;
const DATA_SOURCES: &str = r#"{"dataSources":[{"dataSourceId":"ds-1","displayName":"s3-docs","type":"S3","status":"ACTIVE"}]}"#;
const RETRIEVERS: &str = r#"{"retrievers":[{"applicationId":"a1b2c3d4-app","retrieverId":"ret-1","type":"NATIVE_INDEX","status":"ACTIVE","displayName":"native"}]}"#;
const GET_PLUGIN: &str = r#"{"applicationId":"a1b2c3d4-app","pluginId":"plug-1","displayName":"exfil","type":"CUSTOM","serverUrl":"https://collector.example"}"#;
const GET_DATA_SOURCE: &str = r#"{"applicationId":"a1b2c3d4-app","indexId":"idx-1","dataSourceId":"ds-1","displayName":"s3-docs","type":"S3"}"#;
const GET_RETRIEVER: &str = r#"{"applicationId":"a1b2c3d4-app","retrieverId":"ret-1","type":"NATIVE_INDEX","displayName":"native"}"#;
const NOT_FOUND: &str = r#"{"__type":"ResourceNotFoundException","message":"Application a1b2c3d4-app not found"}"#;

fn encoded_arn() -> String {
    ARN.replace(':', "%3A").replace('/', "%2F")
}

fn request() -> Request {
    Request::EradicateQBusinessApp { application_id: APP.into(), with_retrievers: true, with_data_sources: true, with_plugins: true }
}

#[test]
fn eradicate_qbusiness_app_plans_then_deletes_children_first() {
    let app = format!("/applications/{APP}");
    let mut events = vec![
        // Plan: reads.
        exchange("GET", &app, 200, GET_APP),
        exchange("GET", &format!("/v1/tags/{}", encoded_arn()), 200, r#"{"tags":[]}"#),
        exchange("GET", &format!("{app}/plugins"), 200, PLUGINS),
        exchange("GET", &format!("{app}/indices"), 200, INDICES),
        exchange("GET", &format!("{app}/indices/idx-1/datasources"), 200, DATA_SOURCES),
        exchange("GET", &format!("{app}/retrievers"), 200, RETRIEVERS),
        // Plan: each step's current state.
        exchange("GET", &format!("{app}/plugins/plug-1"), 200, GET_PLUGIN),
        exchange("GET", &format!("{app}/indices/idx-1/datasources/ds-1"), 200, GET_DATA_SOURCE),
        exchange("GET", &format!("{app}/retrievers/ret-1"), 200, GET_RETRIEVER),
        exchange("GET", &app, 200, GET_APP),
    ];
    let plan_calls = events.len();
    events.extend([
        // Apply: the capture, then read-and-delete each child, then the application.
        exchange("GET", &app, 200, GET_APP),
        exchange("GET", &format!("{app}/retrievers"), 200, RETRIEVERS),
        exchange("GET", &format!("{app}/plugins"), 200, PLUGINS),
        exchange("GET", &format!("{app}/indices"), 200, INDICES),
        exchange("GET", &format!("{app}/plugins/plug-1"), 200, GET_PLUGIN),
        exchange("DELETE", &format!("{app}/plugins/plug-1"), 200, "{}"),
        exchange("GET", &format!("{app}/indices/idx-1/datasources/ds-1"), 200, GET_DATA_SOURCE),
        exchange("DELETE", &format!("{app}/indices/idx-1/datasources/ds-1"), 200, "{}"),
        exchange("GET", &format!("{app}/retrievers/ret-1"), 200, GET_RETRIEVER),
        exchange("DELETE", &format!("{app}/retrievers/ret-1"), 200, "{}"),
        exchange("GET", &app, 200, GET_APP),
        exchange("DELETE", &app, 200, "{}"),
        // Second run: the application is gone.
        exchange("GET", &app, 404, NOT_FOUND),
    ]);
    let expected: Vec<String> = events.iter().map(|e| format!("{} {}", e.request().method(), e.request().uri().to_string().strip_prefix(HOST).unwrap_or_default())).collect();
    let (responder, client) = responder(events);

    let plan = responder.plan(&request(), &Guardrails::default()).unwrap();
    let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["CaptureQBusinessApp", "DeleteQBusinessPlugin", "DeleteQBusinessDataSource", "DeleteQBusinessRetriever", "DeleteQBusinessApp"]);
    assert!(plan.steps.iter().all(|s| !s.already_done && s.state_error.is_none()), "{plan:#?}");
    assert!(calls(&client).iter().all(|c| c.starts_with("GET ")), "the plan only reads: {:?}", calls(&client));
    assert_eq!(calls(&client).len(), plan_calls);

    let (_dir, case) = temp_case();
    let report = responder.apply(&plan, &case, ApplyOptions::default()).unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert!(report.outcomes.iter().all(|o| o.status == StepStatus::Applied));
    let evidence = std::fs::read_to_string(report.outcomes[0].result.as_ref().unwrap()["evidence_file"].as_str().unwrap()).unwrap();
    assert!(evidence.contains("collector.example"), "the capture keeps the plugin's server URL");

    let again = responder.plan(&request(), &Guardrails::default()).unwrap();
    assert!(again.steps.is_empty() && again.notes[0].contains("does not exist"), "{again:#?}");

    assert_eq!(calls(&client), expected);
    client.relaxed_requests_match();
}

#[test]
fn denied_qbusiness_call_names_the_action() {
    let denied = r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: qbusiness:GetApplication"}"#;
    let (responder, _client) = responder(vec![exchange("GET", &format!("/applications/{APP}"), 403, denied)]);
    match responder.plan(&request(), &Guardrails::default()) {
        Err(AwsError::AccessDenied { action, .. }) => assert_eq!(action, "qbusiness:GetApplication"),
        other => panic!("expected a permission error, got {other:?}"),
    }
}

#[test]
fn protected_qbusiness_app_is_refused() {
    let app = format!("/applications/{APP}");
    let tags = r#"{"tags":[{"key":"firebreak:protected","value":"prod"}]}"#;
    let (responder, client) = responder(vec![exchange("GET", &app, 200, GET_APP), exchange("GET", &format!("/v1/tags/{}", encoded_arn()), 200, tags)]);
    assert!(matches!(responder.plan(&request(), &Guardrails::default()), Err(AwsError::Protected { .. })));
    assert_eq!(calls(&client).len(), 2, "nothing after the refusal");
}

#[test]
fn throttling_is_retried_with_backoff() {
    let app = format!("/applications/{APP}");
    let throttled = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    let unavailable = r#"{"__type":"InternalServerException","message":"try again"}"#;
    let (responder, client) = responder(vec![
        exchange("GET", &app, 429, throttled),
        exchange("GET", &app, 500, unavailable),
        exchange("GET", &app, 200, GET_APP),
        exchange("GET", &format!("/v1/tags/{}", encoded_arn()), 200, r#"{"tags":[]}"#),
        exchange("GET", &app, 200, GET_APP),
    ]);
    let only_app = Request::EradicateQBusinessApp { application_id: APP.into(), with_retrievers: false, with_data_sources: false, with_plugins: false };
    let plan = responder.plan(&only_app, &Guardrails::default()).unwrap();
    assert_eq!(plan.steps.len(), 2);
    let made = calls(&client);
    assert_eq!(made.len(), 5, "{made:?}");
    assert_eq!(made[0], made[2], "the same call was retried");
}
