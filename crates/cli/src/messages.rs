//! The CLI's user-visible wsk texts in one home. They are copied from the `wsk` CLI
//! (openwhisk-cli `wski18n` resources) because scripts match on them: change none of them
//! without checking wsk's exact wording. Server-side messages come from the server as is.

// ------------------------------------------------------------------------------ confirmations

/// `ok: <done> <kind> <name>` (`ok: created action hello`).
pub(crate) fn ok(done: &str, kind: &str, name: &str) -> String {
    format!("ok: {done} {kind} {name}\n")
}

/// `ok: invoked /ns/name with id <id>`.
pub(crate) fn ok_invoked(fq: &str, id: &str) -> String {
    format!("ok: invoked {fq} with id {id}\n")
}

/// A blocking invocation that did not finish in time.
pub(crate) fn ok_invoked_not_finished(fq: &str, id: &str) -> String {
    format!("ok: invoked {fq}, but the request has not yet finished, with id {id}\n")
}

/// `ok: triggered /ns/name with id <id>`.
pub(crate) fn ok_triggered(fq: &str, id: &str) -> String {
    format!("ok: triggered {fq} with id {id}\n")
}

// ------------------------------------------------------------------------------------ failures

/// `Unable to <verb> <kind> '<name>'` (`Unable to get action 'hello'`).
pub(crate) fn unable(verb: &str, kind: &str, name: &str) -> String {
    format!("Unable to {verb} {kind} '{name}'")
}

/// `Unable to obtain the list of <kinds> for namespace '<ns>'`.
pub(crate) fn list_failed(kinds: &str, ns: &str) -> String {
    format!("Unable to obtain the list of {kinds} for namespace '{ns}'")
}

/// `Unable to configure feed '<feed>': <reason>`.
pub(crate) fn feed_failed(feed: &str, reason: &str) -> String {
    format!("Unable to configure feed '{feed}': {reason}")
}

/// The namespace list failed.
pub(crate) const NAMESPACES_FAILED: &str = "Unable to obtain the list of available namespaces";

// ------------------------------------------------------------------------------ usage errors

/// `--auth` is needed and missing.
pub(crate) const AUTH_REQUIRED: &str = "Authorization key is not configured (--auth is required)";
/// No API host configured.
pub(crate) const APIHOST_REQUIRED: &str =
    "The API host is not valid: An API host must be provided.";
/// `--key` without `--cert`.
pub(crate) const CERT_MISSING: &str =
    "The Cert file is not configured. Please configure the missing Cert file.";
/// `--cert` without `--key`.
pub(crate) const KEY_MISSING: &str =
    "The Key file is not configured. Please configure the missing Key file.";
/// `--last` with no activation at all.
pub(crate) const NO_ACTIVATIONS: &str = "Activation list does not contain any activations.";
/// `-F`/`-T` without `-p`/`-P`.
pub(crate) const FEED_TRIGGER_PARAMS_ALONE: &str = "Incorrect usage. Cannot combine --feed-param or --trigger-param flag with neither --param nor --param-file flag";
/// `-F` on a trigger without `--feed`.
pub(crate) const FEED_PARAMS_WITHOUT_FEED: &str =
    "Incorrect usage. Trigger without a feed cannot have feed parameters";
/// `--kind` together with `--docker`.
pub(crate) const KIND_AND_DOCKER: &str =
    "Cannot specify both --kind and --docker at the same time.";
/// `--web-secure` on an action that is not a web action.
pub(crate) const WEB_SECURE_NEEDS_WEB: &str =
    "The --web-secure option is only valid when the --web option is enabled.";

/// `action create` arguments.
pub(crate) const ACTION_NAME_AND_CODE_REQUIRED: &str =
    "An action name and code artifact are required.";
/// `action update` arguments.
pub(crate) const ACTION_NAME_CODE_OPTIONAL: &str =
    "An action name is required. A code artifact is optional.";
/// `action invoke` arguments.
pub(crate) const ACTION_NAME_REQUIRED: &str = "An action name is required.";
/// `activation get|logs|result` arguments.
pub(crate) const ACTIVATION_ID_REQUIRED: &str = "An activation ID is required.";
/// `trigger create|update` arguments.
pub(crate) const TRIGGER_NAME_REQUIRED: &str = "A trigger name is required.";
/// `rule create|update` arguments.
pub(crate) const RULE_ARGS_REQUIRED: &str = "A rule, trigger and action name are required.";
/// `namespace get` with an entity name.
pub(crate) const NO_ARGUMENTS: &str = "Invalid argument(s). No arguments are required.";

/// Too few arguments: `Invalid argument(s). <required>`.
pub(crate) fn too_few_args(required: &str) -> String {
    format!("Invalid argument(s). {required}")
}

/// Too many arguments: `Invalid argument(s): a, b. <required>`.
pub(crate) fn too_many_args(extra: &[String], required: &str) -> String {
    format!("Invalid argument(s): {}. {required}", extra.join(", "))
}

/// A name that is not `[/ns/][pkg/]name`.
pub(crate) fn invalid_qualified_name(name: &str) -> String {
    format!("'{name}' is not a valid qualified name: A valid qualified name must be specified.")
}

/// A `get` field filter that the entity does not have.
pub(crate) fn invalid_field(field: &str) -> String {
    format!("Invalid field filter '{field}'.")
}

/// A list command given an entity instead of `/NAMESPACE`.
pub(crate) fn entity_instead_of_namespace(entity: &str) -> String {
    format!(
        "An entity name, '{entity}', was provided instead of a namespace. Valid namespaces are of the following format: /NAMESPACE."
    )
}

// ------------------------------------------------------------------------------------- api

/// `api create` without arguments and without `--config-file`.
pub(crate) const API_CREATE_ARGS: &str = "Specify a swagger file or specify an API base path with an API path, an API verb, and an action name.";
/// `api get` arguments.
pub(crate) const API_GET_ARGS: &str = "An API base path or API name is required.";
/// `api delete` arguments.
pub(crate) const API_DELETE_ARGS: &str = "An API base path or API name is required.  An optional API relative path and operation may also be provided.";
/// `api list` arguments.
pub(crate) const API_LIST_ARGS: &str =
    "Optional parameters are: API base path (or API name), API relative path and operation.";
/// Path parameters need `--response-type http`.
pub(crate) const API_PATH_PARAMS_NEED_HTTP: &str =
    "A response type of 'http' is required when using path parameters.";
/// An API name both as argument and as `--apiname`.
pub(crate) const API_NAME_TWICE: &str = "An API name can only be specified once.";
/// A swagger file without its required fields.
pub(crate) const SWAGGER_INVALID: &str =
    "Swagger file is invalid (missing basePath, info, paths, or swagger fields)";
/// A swagger file whose basePath is relative.
pub(crate) const SWAGGER_BASEPATH: &str =
    "Swagger file basePath must start with a leading slash (/)";
/// The apimgmt answer has no swagger document.
pub(crate) const API_MISSING_APIDOC: &str =
    "Internal error. Missing apidoc stanza in API configuration";
/// The apimgmt list answer has an entry without `value`.
pub(crate) const API_MISSING_VALUE: &str =
    "Internal error. Missing value stanza in API configuration response";

/// The action behind a route is not a web action.
pub(crate) fn not_web_action(full: &str) -> String {
    format!(
        "Action '{full}' is not a web action. Issue 'wsk action update \"{full}\" --web true' to convert the action to a web action."
    )
}

/// A path that does not start with `/`.
pub(crate) fn path_needs_slash(path: &str) -> String {
    format!("'{path}' must begin with '/'.")
}

/// A verb that is not an HTTP method of `verbs`.
pub(crate) fn invalid_api_verb(verb: &str, verbs: &[&str]) -> String {
    format!(
        "'{verb}' is not a valid API verb.  Valid values are: [{}]",
        verbs.join(" ")
    )
}

/// A parameterised base path.
pub(crate) fn basepath_with_params(path: &str) -> String {
    format!(
        "The base path '{path}' cannot have parameters. Only the relative path supports path parameters."
    )
}

/// `ok: created API <path> <VERB> for action /<ns>/<action>` and the URL line.
pub(crate) fn ok_api_created(path: &str, verb: &str, action: Option<&str>, url: &str) -> String {
    match action {
        Some(a) => format!("ok: created API {path} {verb} for action {a}\n{url}\n"),
        None => format!("ok: created API {path} {verb}\n{url}\n"),
    }
}
