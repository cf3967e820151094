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
