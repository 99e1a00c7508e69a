//! Shared setup for the moto end-to-end tests.
#![allow(dead_code)]

#[path = "../support/moto.rs"]
pub mod moto;

use firebreak_aws::evidence::{Case, CaseLocation};
use firebreak_aws::{ConnectOptions, Guardrails, Responder, Session};
pub use moto::Moto;

/// Skips (or, under CI, fails) when moto is unavailable.
#[macro_export]
macro_rules! moto_or_skip {
    () => {
        match common::Moto::shared() {
            Some(moto) => moto,
            None => return,
        }
    };
}

/// A session in a fresh moto account, reached through sts:AssumeRole.
pub fn fresh_session(moto: &Moto) -> Session {
    let account = moto::unique_account();
    session_in(moto, &account)
}

/// A session in `account`.
pub fn session_in(moto: &Moto, account: &str) -> Session {
    let options = ConnectOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto.url.clone()),
        static_credentials: Some(("testing".into(), "testing".into())),
        role_arn: Some(moto::responder_role(account)),
        ..ConnectOptions::default()
    };
    let session = Session::connect(&options).expect("connect to moto");
    assert_eq!(session.identity().account, account, "AssumeRole should land in the test's own account");
    session
}

/// A session with explicit credentials (no role assumption), e.g. an IAM user's key.
pub fn session_with_key(moto: &Moto, key: &str, secret: &str) -> firebreak_aws::Result<Session> {
    let options = ConnectOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto.url.clone()),
        static_credentials: Some((key.into(), secret.into())),
        ..ConnectOptions::default()
    };
    Session::connect(&options)
}

/// A responder in a fresh account.
pub fn fresh_responder(moto: &Moto) -> Responder {
    Responder::new(fresh_session(moto))
}

/// A new case in a temporary folder.
pub fn temp_case() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = Case::open_or_create(CaseLocation { name: "test-case".into(), dir: dir.path().join("test-case") }).expect("case");
    (dir, case)
}

/// Default guardrails.
pub fn guard() -> Guardrails {
    Guardrails::default()
}
