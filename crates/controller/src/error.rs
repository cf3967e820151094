//! The one error type of the REST API and the middleware that gives every non-2xx response
//! OpenWhisk's `{"error": <message>, "code": <transaction id>}` body.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use whirl_core::messages;
use whirl_store::StoreError;

use crate::domain::Error as DomainError;

/// The transaction id of a request (from `X-Request-ID` or generated), kept in request extensions.
#[derive(Debug, Clone)]
pub struct TransactionId(pub String);

/// An API error: a status and OpenWhisk's message. The body is rendered by [`transaction_layer`],
/// which knows the transaction id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

/// Marker extension carrying the message of an error response to the middleware.
#[derive(Debug, Clone)]
struct ErrorMessage(String);

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, messages::RESOURCE_DOES_NOT_EXIST)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
    pub fn forbidden(resource: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, messages::not_authorized(resource))
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            messages::INTERNAL_SERVER_ERROR,
        )
    }
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        DomainError::from(e).into()
    }
}

/// The one mapping of domain errors to OpenWhisk's statuses (the message is already
/// OpenWhisk's).
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::Invalid(_) => StatusCode::BAD_REQUEST,
            DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
            DomainError::NotFound => StatusCode::NOT_FOUND,
            DomainError::Conflict(_) => StatusCode::CONFLICT,
            DomainError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            DomainError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            DomainError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            DomainError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            DomainError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.message())
    }
}

/// Errors of the parts that still speak HTTP (invocation, throttles) seen by domain logic: the
/// inverse of the mapping above, so a round trip keeps status and message.
impl From<ApiError> for DomainError {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                DomainError::Invalid(e.message)
            }
            StatusCode::FORBIDDEN => DomainError::Forbidden(e.message),
            StatusCode::NOT_FOUND => DomainError::NotFound,
            StatusCode::CONFLICT => DomainError::Conflict(e.message),
            StatusCode::PAYLOAD_TOO_LARGE => DomainError::TooLarge(e.message),
            StatusCode::UNPROCESSABLE_ENTITY => DomainError::Unprocessable(e.message),
            StatusCode::TOO_MANY_REQUESTS => DomainError::Throttled(e.message),
            StatusCode::SERVICE_UNAVAILABLE => DomainError::Unavailable,
            _ => DomainError::Internal,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = self.status.into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"OpenWhisk secure realm\""),
            );
        }
        r.extensions_mut().insert(ErrorMessage(self.message));
        r
    }
}

pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn cors(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent",
        ),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, DELETE, POST, PUT, HEAD"),
    );
}

fn valid_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_string())
}

/// The longest request line accepted, as OpenWhisk's nginx front end has it
/// (`large_client_header_buffers 4 8k`): a longer one gets nginx's 414 page. Whirl has no proxy
/// in front of it, so the server applies the same limit itself.
pub const MAX_REQUEST_LINE: usize = 8192;

/// Outermost of all: refuses a request line over [`MAX_REQUEST_LINE`] bytes with 414.
pub async fn request_line_limit(req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    // `METHOD SP request-target SP HTTP/1.1 CRLF`
    let line = req.method().as_str().len() + 1 + target + 1 + 8 + 2;
    if line > MAX_REQUEST_LINE {
        let page = "<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n\
                    <center><h1>414 Request-URI Too Large</h1></center>\r\n</body>\r\n</html>\r\n";
        return (
            StatusCode::URI_TOO_LONG,
            [(header::CONTENT_TYPE, "text/html")],
            page,
        )
            .into_response();
    }
    next.run(req).await
}

/// Outermost middleware: assigns the transaction id, answers OPTIONS, adds CORS and `X-Request-ID`
/// to every response, and renders error bodies (ours and the framework's) in OpenWhisk's shape.
pub async fn transaction_layer(mut req: Request, next: Next) -> Response {
    let tid = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(valid_request_id)
        .unwrap_or_else(whirl_core::ids::new_transaction_id);
    req.extensions_mut().insert(TransactionId(tid.clone()));
    let mut resp = if req.method() == Method::OPTIONS {
        StatusCode::OK.into_response()
    } else {
        next.run(req).await
    };
    let status = resp.status();
    if let Some(ErrorMessage(msg)) = resp.extensions_mut().remove::<ErrorMessage>() {
        resp = error_body(resp, &msg, &tid);
    } else if (status.is_client_error() || status.is_server_error()) && !is_json(&resp) {
        // A framework rejection (405, 413 from a body limit, ...): wrap its text.
        let msg = match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                let allow = resp
                    .headers()
                    .get(header::ALLOW)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                format!("{}{}", messages::METHOD_NOT_ALLOWED, allow)
            }
            StatusCode::NOT_FOUND => messages::RESOURCE_DOES_NOT_EXIST.to_string(),
            StatusCode::PAYLOAD_TOO_LARGE => messages::REQUEST_TOO_LARGE.to_string(),
            s if s.is_server_error() => messages::INTERNAL_SERVER_ERROR.to_string(),
            s => s.canonical_reason().unwrap_or("Bad request").to_string(),
        };
        resp = error_body(resp, &msg, &tid);
    }
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tid) {
        h.insert(X_REQUEST_ID.clone(), v);
    }
    cors(h);
    resp
}

/// Whether a response already carries a JSON body (e.g. a failed blocking activation's record).
fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}

fn error_body(resp: Response, msg: &str, tid: &str) -> Response {
    let (mut parts, _) = resp.into_parts();
    let body = json!({ "error": msg, "code": tid }).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Fallback for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::not_found()
}
