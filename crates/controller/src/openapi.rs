//! The OpenAPI 3 description of the routes this server really serves (`GET /api/v1/api-docs`).
//! Kept next to the router; a test checks that every documented path answers.

use serde_json::{json, Map, Value};

fn param(name: &str, location: &str, schema: &str, description: &str) -> Value {
    json!({"name": name, "in": location, "required": location == "path",
           "description": description, "schema": {"type": schema}})
}

fn op(summary: &str, params: Vec<Value>, body: Option<&str>, ok: &str, errors: &[u16]) -> Value {
    let mut responses = Map::new();
    responses.insert("200".into(), json!({"description": ok}));
    for code in errors {
        responses.insert(
            code.to_string(),
            json!({"$ref": "#/components/responses/Error"}),
        );
    }
    let mut o = json!({"summary": summary, "parameters": params, "responses": responses});
    if let Some(schema) = body {
        o["requestBody"] = json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
    }
    o
}

fn list_params() -> Vec<Value> {
    vec![
        param(
            "namespace",
            "path",
            "string",
            "namespace, or _ for the caller's",
        ),
        param(
            "limit",
            "query",
            "integer",
            "number of entities to return, 0..200 (0 = 200), default 30",
        ),
        param("skip", "query", "integer", "number of entities to skip"),
        param(
            "count",
            "query",
            "boolean",
            "return {\"<collection>\": N} instead of the list",
        ),
    ]
}

fn entity_params(extra: &[Value]) -> Vec<Value> {
    let mut v = vec![
        param(
            "namespace",
            "path",
            "string",
            "namespace, or _ for the caller's",
        ),
        param("name", "path", "string", "entity name"),
    ];
    v.extend_from_slice(extra);
    v
}

/// The document.
pub fn document() -> Value {
    let overwrite = param(
        "overwrite",
        "query",
        "boolean",
        "replace an existing entity",
    );
    let mut paths = Map::new();
    paths.insert(
        "/".into(),
        json!({"get": op("API information", vec![], None, "API version and build", &[])}),
    );
    paths.insert(
        "/api-docs".into(),
        json!({"get": op("This document", vec![], None, "OpenAPI document", &[])}),
    );
    paths.insert("/namespaces".into(), json!({"get": op("The caller's namespaces", vec![], None, "array of namespace names", &[401])}));
    paths.insert(
        "/namespaces/{namespace}/limits".into(),
        json!({"get": op("Namespace limits", entity_params(&[])[..1].to_vec(), None, "limits", &[401, 403])}),
    );
    for (coll, schema) in [
        ("actions", "ActionPut"),
        ("packages", "PackagePut"),
        ("triggers", "TriggerPut"),
        ("rules", "RulePut"),
    ] {
        paths.insert(
            format!("/namespaces/{{namespace}}/{coll}"),
            json!({"get": op(&format!("List {coll}"), list_params(), None, "array of summaries", &[400, 401, 403])}),
        );
        let mut item = Map::new();
        item.insert(
            "get".into(),
            op(
                &format!("Get one of {coll}"),
                entity_params(&[]),
                None,
                "the entity",
                &[401, 403, 404, 409],
            ),
        );
        item.insert(
            "put".into(),
            op(
                &format!("Create or update one of {coll}"),
                entity_params(std::slice::from_ref(&overwrite)),
                Some(schema),
                "the stored entity",
                &[400, 401, 403, 409, 413],
            ),
        );
        let mut del_params = vec![];
        if coll == "packages" {
            del_params.push(param(
                "force",
                "query",
                "boolean",
                "also delete the package's actions",
            ));
        }
        item.insert(
            "delete".into(),
            op(
                &format!("Delete one of {coll}"),
                entity_params(&del_params),
                None,
                "the deleted entity",
                &[401, 403, 404, 409],
            ),
        );
        if coll == "rules" {
            item.insert(
                "post".into(),
                op(
                    "Enable or disable a rule",
                    entity_params(&[]),
                    Some("RuleStatus"),
                    "OK",
                    &[400, 401, 404, 409],
                ),
            );
        }
        paths.insert(
            format!("/namespaces/{{namespace}}/{coll}/{{name}}"),
            Value::Object(item),
        );
    }
    paths.insert(
        "/namespaces/{namespace}/actions/{package}/{name}".into(),
        json!({
            "get": op("Get an action in a package (or through a binding)", vec![
                param("namespace", "path", "string", "namespace"), param("package", "path", "string", "package"),
                param("name", "path", "string", "action"), param("code", "query", "boolean", "include the code (default true)")],
                None, "the action with merged parameters", &[401, 403, 404]),
            "put": op("Create or update an action in a package", vec![
                param("namespace", "path", "string", "namespace"), param("package", "path", "string", "package"),
                param("name", "path", "string", "action"), overwrite.clone()], Some("ActionPut"), "the stored action", &[400, 401, 403, 404, 409, 413]),
            "delete": op("Delete an action in a package", vec![
                param("namespace", "path", "string", "namespace"), param("package", "path", "string", "package"),
                param("name", "path", "string", "action")], None, "the deleted action", &[401, 403, 404]),
        }),
    );
    let mut act_list = list_params();
    act_list.extend([
        param(
            "docs",
            "query",
            "boolean",
            "full records instead of summaries",
        ),
        param(
            "name",
            "query",
            "string",
            "only activations of this action (name or package/name)",
        ),
        param("since", "query", "integer", "epoch ms lower bound on start"),
        param("upto", "query", "integer", "epoch ms upper bound on start"),
    ]);
    paths.insert("/namespaces/{namespace}/activations".into(), json!({"get": op("List activations", act_list, None, "summaries or records", &[400, 401, 403])}));
    let id_params = vec![
        param("namespace", "path", "string", "namespace"),
        param("activationid", "path", "string", "32 hex chars"),
    ];
    paths.insert("/namespaces/{namespace}/activations/{activationid}".into(), json!({"get": op("Get an activation", id_params.clone(), None, "the activation record", &[400, 401, 403, 404])}));
    paths.insert("/namespaces/{namespace}/activations/{activationid}/logs".into(), json!({"get": op("Activation logs", id_params.clone(), None, "{\"logs\": [...]}", &[400, 401, 403, 404])}));
    paths.insert("/namespaces/{namespace}/activations/{activationid}/result".into(), json!({"get": op("Activation result", id_params, None, "the response object", &[400, 401, 403, 404])}));

    invocation_paths(&mut paths);
    web_paths(&mut paths);

    // Absolute paths (server "/"): relative to a server "/api/v1", the info route `/` would read
    // `/api/v1/`, which is not routed; `GET /api/v1` is.
    let paths: Map<String, Value> = paths
        .into_iter()
        .map(|(k, v)| {
            let abs = if k == "/" {
                "/api/v1".to_string()
            } else {
                format!("/api/v1{k}")
            };
            (abs, v)
        })
        .collect();
    let mut paths = paths;
    gateway_paths(&mut paths);

    let kv = json!({"type": "array", "items": {"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}, "value": {}, "init": {"type": "boolean"}}}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Whirl (OpenWhisk-compatible) REST API", "version": "1.0.0"},
        "servers": [{"url": "/"}],
        "security": [{"basicAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
            "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorMessage"}}}}},
            "schemas": {
                "ErrorMessage": {"type": "object", "properties": {"error": {"type": "string"}, "code": {"type": "string"}}},
                "KeyValues": kv,
                "Parameters": {"type": "object", "additionalProperties": true},
                "ActionPut": {"type": "object", "properties": {
                    "exec": {"type": "object", "properties": {"kind": {"type": "string"}, "code": {"type": "string"}, "image": {"type": "string"}, "main": {"type": "string"}, "components": {"type": "array", "items": {"type": "string"}}}},
                    "parameters": {"$ref": "#/components/schemas/KeyValues"}, "annotations": {"$ref": "#/components/schemas/KeyValues"},
                    "limits": {"type": "object", "properties": {"timeout": {"type": "integer"}, "memory": {"type": "integer"}, "logs": {"type": "integer"}, "concurrency": {"type": "integer"}}},
                    "version": {"type": "string"}, "publish": {"type": "boolean"}, "delAnnotations": {"type": "array", "items": {"type": "string"}}}},
                "PackagePut": {"type": "object", "properties": {"binding": {"type": "object", "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}}},
                    "parameters": {"$ref": "#/components/schemas/KeyValues"}, "annotations": {"$ref": "#/components/schemas/KeyValues"}, "publish": {"type": "boolean"}, "version": {"type": "string"}}},
                "TriggerPut": {"type": "object", "properties": {"parameters": {"$ref": "#/components/schemas/KeyValues"}, "annotations": {"$ref": "#/components/schemas/KeyValues"}, "limits": {"type": "object"}, "publish": {"type": "boolean"}, "version": {"type": "string"}}},
                "RulePut": {"type": "object", "properties": {"trigger": {"type": "string"}, "action": {"type": "string"}, "annotations": {"$ref": "#/components/schemas/KeyValues"}, "publish": {"type": "boolean"}, "version": {"type": "string"}}},
                "RuleStatus": {"type": "object", "properties": {"status": {"type": "string", "enum": ["active", "inactive"]}}},
            }
        }
    })
}

/// Invoking an action and firing a trigger (`POST` on the entity).
fn invocation_paths(paths: &mut Map<String, Value>) {
    let invoke_params = |package: bool| {
        let mut v = vec![param(
            "namespace",
            "path",
            "string",
            "namespace, or _ for the caller's",
        )];
        if package {
            v.push(param("package", "path", "string", "package or binding"));
        }
        v.extend([
            param("name", "path", "string", "action"),
            param(
                "blocking",
                "query",
                "boolean",
                "wait for the result (up to 60 s, then 202 with the activation id)",
            ),
            param(
                "result",
                "query",
                "boolean",
                "answer only the result (implies blocking)",
            ),
            param("timeout", "query", "integer", "ms to wait when blocking"),
        ]);
        v
    };
    let invoke = |package: bool| {
        op(
            "Invoke an action with the body's parameters",
            invoke_params(package),
            Some("Parameters"),
            "the activation (blocking) or {\"activationId\"} (202 when not blocking)",
            &[400, 401, 403, 404, 408, 413, 429, 502],
        )
    };
    if let Some(item) = paths
        .get_mut("/namespaces/{namespace}/actions/{name}")
        .and_then(Value::as_object_mut)
    {
        item.insert("post".into(), invoke(false));
    }
    if let Some(item) = paths
        .get_mut("/namespaces/{namespace}/actions/{package}/{name}")
        .and_then(Value::as_object_mut)
    {
        item.insert("post".into(), invoke(true));
    }
    if let Some(item) = paths
        .get_mut("/namespaces/{namespace}/triggers/{name}")
        .and_then(Value::as_object_mut)
    {
        item.insert(
            "post".into(),
            op(
                "Fire a trigger with the body's parameters",
                entity_params(&[]),
                Some("Parameters"),
                "{\"activationId\"} (202), or 204 when no rule is active",
                &[400, 401, 403, 404, 429],
            ),
        );
    }
}

/// Web actions (no credentials unless the action asks for them) and the API gateway's
/// management actions, which are web actions of `/whisk.system/apimgmt`.
fn web_paths(paths: &mut Map<String, Value>) {
    let web_params = || {
        vec![
            param("namespace", "path", "string", "the action's namespace (not _)"),
            param(
                "package",
                "path",
                "string",
                "package or binding, or `default` for none",
            ),
            param(
                "action",
                "path",
                "string",
                "action name with an optional extension (.json, .html, .http, .svg, .text; none is .http) \
                 and extra path segments after it (passed as __ow_path)",
            ),
        ]
    };
    let mut item = Map::new();
    for method in ["get", "post", "put", "delete", "patch"] {
        item.insert(
            method.into(),
            op(
                "Run a web action (annotation web-export); the extension picks the response's content type",
                web_params(),
                None,
                "the action's answer, projected by the extension",
                &[400, 401, 404, 406, 413, 415, 500, 502],
            ),
        );
    }
    item.insert(
        "options".into(),
        op(
            "CORS preflight: default CORS headers, or the action's own with web-custom-options",
            web_params(),
            None,
            "CORS headers",
            &[404],
        ),
    );
    paths.insert(
        "/web/{namespace}/{package}/{action}".into(),
        Value::Object(item),
    );

    let apimgmt = "/web/whisk.system/apimgmt";
    let basepath = param("basepath", "query", "string", "the API's base path or name");
    paths.insert(
        format!("{apimgmt}/createApi.http"),
        json!({"post": op(
            "Create or extend an API: a route ({\"apidoc\": {gatewayBasePath, gatewayPath, gatewayMethod, action}}) or a Swagger 2.0 document ({\"apidoc\": {\"swagger\": ...}})",
            vec![param("responsetype", "query", "string", "json, http, html, text or svg")],
            None, "the stored API: {\"apidoc\", \"gwApiUrl\", ...}", &[400, 401, 403])}),
    );
    paths.insert(
        format!("{apimgmt}/getApi.http"),
        json!({"get": op(
            "List the caller's APIs, or one",
            vec![basepath.clone(), param("relpath", "query", "string", "only this relative path"),
                 param("operation", "query", "string", "only this verb")],
            None, "{\"apis\": [{\"id\", \"key\", \"value\": {\"gwApiUrl\", \"apidoc\"}}]}", &[401])}),
    );
    paths.insert(
        format!("{apimgmt}/deleteApi.http"),
        json!({"delete": op(
            "Delete an API, one of its paths, or one verb of a path",
            vec![basepath, param("relpath", "query", "string", "only this relative path"),
                 param("operation", "query", "string", "only this verb")],
            None, "{}", &[400, 401, 404])}),
    );
}

/// The routes the API gateway serves, outside `/api/v1`.
fn gateway_paths(paths: &mut Map<String, Value>) {
    let params = vec![
        param(
            "namespaceUuid",
            "path",
            "string",
            "the part of the namespace's key before `:`",
        ),
        param(
            "basePath",
            "path",
            "string",
            "the API's base path (may span segments)",
        ),
        param(
            "relPath",
            "path",
            "string",
            "the route's relative path, with its {path parameters} (may span segments)",
        ),
    ];
    paths.insert(
        "/api/{namespaceUuid}/{basePath}/{relPath}".into(),
        json!({"get": op(
            "An API route created with createApi (`wsk api create`): runs its web action; every verb the API maps is served the same way, and OPTIONS answers CORS",
            params, None, "the action's answer in the route's response type", &[404, 406])}),
    );
}
