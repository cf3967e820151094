//! The exact error texts OpenWhisk returns (its `Messages` catalogue). Clients match on these
//! strings, so they are reproduced verbatim, typos included.

pub const RESOURCE_DOES_NOT_EXIST: &str = "The requested resource does not exist.";
pub const RESOURCE_EXISTS: &str = "resource already exists";
pub const CONFLICT_DETECTED: &str = "Concurrent modification to resource detected.";
pub const CONFORMANCE_MISMATCH: &str =
    "Resource by this name exists but is not in this collection.";
pub const AUTHENTICATION_INVALID: &str = "The supplied authentication is invalid";
pub const AUTHENTICATION_REQUIRED: &str =
    "The resource requires authentication, which was not supplied with the request";
pub const ENTITY_ILLEGAL_CHARS: &str = "The name of the entity contains illegal characters.";
pub const NAMESPACE_ILLEGAL_CHARS: &str = "The namespace contains illegal characters.";
pub const MALFORMED_CONTENT_PREFIX: &str = "The request content was malformed:\n";
pub const UNSUPPORTED_MEDIA_TYPE: &str = "The request's Content-Type is not supported.";
pub const METHOD_NOT_ALLOWED: &str = "HTTP method not allowed, supported methods: ";
pub const INTERNAL_SERVER_ERROR: &str = "Internal server error.";
pub const SERVICE_UNAVAILABLE: &str = "Service unavailable.";
pub const EXEC_UNDEFINED: &str = "exec undefined";
pub const PACKAGE_NAME_RESERVED: &str = "Package name 'default' is reserved.";
pub const BINDING_DOES_NOT_EXIST: &str = "Binding references a package that does not exist.";
pub const BINDING_CANNOT_REFERENCE_BINDING: &str = "Cannot bind to another package binding.";
pub const REQUESTED_BINDING_IS_NOT_VALID: &str = "Cannot bind to a resource that is not a package.";
pub const PACKAGE_CANNOT_BECOME_BINDING: &str =
    "Resource is a package and cannot be converted into a binding.";
pub const PACKAGE_BINDING_CIRCULAR_REFERENCE: &str = "Package binding references itself.";
pub const NOT_ALLOWED_ON_BINDING: &str = "Operation not permitted on package binding.";
pub const SEQUENCE_IS_TOO_LONG: &str = "Too many actions in the sequence.";
pub const SEQUENCE_NO_COMPONENTS: &str = "No component specified for the sequence.";
pub const SEQUENCE_IS_CYCLE: &str = "Sequence may not refer to itself.";
pub const SEQUENCE_COMPONENT_NOT_FOUND: &str = "Sequence component does not exist.";
pub const RULE_MISSING_TRIGGER_OR_ACTION: &str = "rule requires a valid trigger and a valid action";
pub const RULE_WITH_INACTIVE_TRIGGER: &str = "Only rules with existing triggers can be activated";
pub const BAD_RULE_STATUS: &str = "status must be 'active' or 'inactive'";
pub const FEED_NAME_INVALID: &str = "Feed name is not valid";
pub const INVALID_ACTIVATION_ID: &str = "The activation id is not valid.";
pub const DOCS_NOT_ALLOWED_WITH_COUNT: &str = "The parameter 'docs' is not permitted with 'count'.";
pub const PARAMETERS_NOT_ALLOWED: &str =
    "Request defines parameters that are not allowed (e.g., reserved properties).";
pub const INVALID_TIMEOUT: &str = "Timeout must be number of milliseconds up to 60000.";
pub const NAMESPACE_LIMIT_UNDERZERO: &str = "The namespace limit is less than or equal to 0.";

/// 403 for another namespace's resources.
pub fn not_authorized(resource: &str) -> String {
    format!("The supplied authentication is not authorized to access '{resource}'.")
}

pub fn name_too_long(len: usize, max: usize) -> String {
    format!("Name segement longer than allowed: {len} > {max}.")
}

/// 413 on an entity field (`exec`, `parameters`, `annotations`).
pub fn field_too_large(field: &str, size: usize, max: usize) -> String {
    format!("{field} larger than allowed: {size} > {max} bytes.")
}

/// 413 on a request body.
pub fn request_too_large(size: u64, max: u64) -> String {
    format!("Request larger than allowed: {size} > {max} bytes.")
}

pub fn malformed(detail: &str) -> String {
    format!("{MALFORMED_CONTENT_PREFIX}{detail}")
}

pub fn unsupported_kind(kind: &str, valid: &str) -> String {
    format!("The specified runtime '{kind}' is not supported by this platform. Valid values are: {valid}.")
}

pub fn kind_not_allowed(kind: &str) -> String {
    format!("The supplied authentication is not authorized to access actions of kind '{kind}'.")
}

pub fn list_limit_out_of_range(value: &str, collection: &str, max: u64) -> String {
    format!("The value '{value}' is not in the range of 0 to {max} for {collection}.")
}

pub fn list_skip_negative(value: &str, collection: &str) -> String {
    format!("The value '{value}' is not a valid non-negative integer for {collection}.")
}

pub fn activation_id_length(len: usize) -> String {
    format!("Activation id length is {len} but must be 32.")
}

pub fn bad_name_filter(value: &str) -> String {
    format!("Parameter may be a 'simple' name or 'package-name/simple' name: {value}")
}

pub fn bad_epoch(value: &str) -> String {
    format!("Parameter is not a valid value for epoch seconds: {value}")
}

pub fn package_not_empty(count: u64) -> String {
    format!(
        "Package not empty (contains {count} {}). Set force param or delete package contents.",
        if count == 1 { "entity" } else { "entities" }
    )
}

pub fn rule_entity_missing(what: &str, fqn: &str) -> String {
    format!("{what} {fqn} does not exist")
}

pub fn too_many_requests(count: u64, allowed: u64) -> String {
    format!("Too many requests in the last minute (count: {count}, allowed: {allowed}).")
}

pub fn too_many_concurrent(count: u64, allowed: u64) -> String {
    format!("Too many concurrent requests in flight (count: {count}, allowed: {allowed}).")
}

pub fn deprecated_runtime(kind: &str) -> String {
    format!(
        "The '{kind}' runtime is no longer supported. You may read and delete but not update or invoke this action."
    )
}

/// 400 on a negative `skip` of a list request (OpenWhisk's `listSkipOutOfRange`).
pub fn list_skip_out_of_range(collection: &str, value: i64) -> String {
    format!("The value '{value}' is not greater than or equal to 0 for {collection}.")
}

/// 400 on a `limit` or `skip` of a list request that is not an integer.
pub fn argument_not_integer(collection: &str, value: &str) -> String {
    format!("The value '{value}' is not an integer for {collection}.")
}

/// The trigger activation's log entry of an inactive rule.
pub fn trigger_with_inactive_rule(rule: &str, action: &str) -> String {
    format!("Rule '{rule}' is inactive, action '{action}' was not activated.")
}

/// 400 when an action's `limits.instances` is outside 1..=the namespace's concurrent invocations.
pub fn instances_out_of_range(instances: u64, max: u64) -> String {
    if instances == 0 {
        format!("requirement failed: instances {instances} below allowed threshold of 1")
    } else {
        format!("requirement failed: instances {instances} exceeds allowed threshold of {max}")
    }
}

/// 415: the supported media type follows OpenWhisk's "not supported" text.
pub fn unsupported_media_type_expected(expected: &str) -> String {
    format!("{UNSUPPORTED_MEDIA_TYPE} Expected:\n{expected}")
}

/// 413 from a body limit without a declared length.
pub const REQUEST_TOO_LARGE: &str = "Request larger than allowed.";

// Web actions (OpenWhisk `Messages` used by `WebActions.scala`).

/// `.text` (or an application error) without the property to project.
pub const WEB_PROPERTY_NOT_FOUND: &str = "Response does not include requested property.";
/// 202 when a web action did not finish within the blocking wait.
pub const WEB_RESPONSE_NOT_READY: &str = "Response not yet ready.";
/// `.http`: the `content-type` header of the result cannot be parsed.
pub const WEB_HTTP_UNKNOWN_CONTENT_TYPE: &str = "Response did not specify a known content-type.";
/// `.http`: the body does not fit the declared content type.
pub const WEB_HTTP_CONTENT_TYPE_ERROR: &str =
    "Response type in header did not match generated content type.";
/// A web action ended with a developer or whisk error.
pub const WEB_ERROR_PROCESSING_REQUEST: &str = "There was an error processing your request.";
/// 401 of a web action whose `require-whisk-auth` is not satisfied (pekko's default text).
pub const WEB_UNAUTHORIZED: &str =
    "Authentication is possible but has failed or not yet been provided.";

/// The result of a web action does not fit the requested media type (`.json`, `.http`, ...).
pub fn web_invalid_media(media_type: &str) -> String {
    format!("Response is not valid '{media_type}'.")
}

/// 431 when the request headers of a web action are larger than allowed.
pub fn web_request_headers_too_large(size: usize, max: usize) -> String {
    format!("Request header fields too large: {size} > {max} bytes.")
}

/// 400 when a `.http` result sets more header bytes than allowed.
pub fn web_response_headers_too_large(size: usize, max: usize) -> String {
    format!("Response headers too large: {size} > {max} bytes.")
}

/// 400 on a `.` or `..` segment in the path after a web action's name.
pub const WEB_PATH_DOT_SEGMENT: &str =
    "The path after the action name may not contain '.' or '..' segments.";

/// The record of an activation accepted but cut off by a stop of its owner (crash recovery).
pub const ACTIVATION_INTERRUPTED: &str =
    "The activation was interrupted: the server stopped before the action completed.";

/// OpenWhisk's whisk error when no container can be had for an activation.
/// The record of an activation whose invoker never completed it (it went offline, or the
/// completion did not come within the ack timeout).
pub const ACTIVATION_LOST: &str =
    "The activation was lost: its invoker did not complete it in time.";
pub const PROVISION_FAILED: &str = "Failed to provision resources to run the action.";
