//! Activation ids in paths are checked as OpenWhisk's `ActivationId.parse` does.

use axum::http::StatusCode;
use whirl_core::messages;

use crate::harness::App;

const TAILS: [&str; 3] = ["", "/logs", "/result"];

#[tokio::test]
async fn malformed_ids_are_400() {
    let app = App::start().await;
    for tail in TAILS {
        // 32 characters, but not lowercase hexadecimal.
        for id in [
            "ABCDEF0123456789ABCDEF0123456789",
            "g0000000000000000000000000000000",
        ] {
            let r = app
                .get(&format!("/api/v1/namespaces/_/activations/{id}{tail}"))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{id}{tail}");
            assert_eq!(r.error(), messages::INVALID_ACTIVATION_ID);
        }
        let r = app
            .get(&format!("/api/v1/namespaces/_/activations/abc{tail}"))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.error(), "Activation id length is 3 but must be 32.");
    }
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let app = App::start().await;
    for tail in TAILS {
        let r = app
            .get(&format!(
                "/api/v1/namespaces/_/activations/0123456789abcdef0123456789abcdef{tail}"
            ))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{tail}");
        assert_eq!(r.error(), messages::RESOURCE_DOES_NOT_EXIST);
    }
}
