//! The API gateway inside the server (spec §2.5): `/whisk.system/apimgmt/{createApi,getApi,
//! deleteApi}` as `wsk api` and `ow.routes` call them, and the routes served at
//! `/api/{namespace-uuid}{basePath}{relPath}`, against a real `whirl standalone`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

const MGMT: &str = "/api/v1/web/whisk.system/apimgmt";
const GUEST_UUID: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502";

fn web_action(api: &Api, name: &str, code: &str, web: bool) {
    let mut body = node_action(code);
    if web {
        body["annotations"] = json!([{"key": "web-export", "value": true}]);
    }
    api.put(&format!("{NS}/actions/{name}?overwrite=true"), &body)
        .ok();
}

/// The apidoc `wsk api create BASE REL VERB ACTION` sends.
fn apidoc(s: &Server, base: &str, rel: &str, verb: &str, action: &str) -> Value {
    let params: Vec<Value> = rel
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|n| json!({"name": n, "in": "path", "required": true, "type": "string"}))
        .collect();
    let mut doc = json!({"apidoc": {
        "namespace": "_",
        "gatewayBasePath": base,
        "gatewayPath": rel,
        "gatewayMethod": verb,
        "id": format!("API:_:{base}"),
        "action": {
            "name": action,
            "namespace": "_",
            "backendMethod": verb,
            "backendUrl": format!("{}/api/v1/web/_/default/{action}.http", s.base),
            "authkey": GUEST_KEY
        }
    }});
    if !params.is_empty() {
        doc["apidoc"]["pathParameters"] = Value::Array(params);
    }
    doc
}

fn create(g: &Api, body: &Value, response_type: &str) -> Resp {
    g.post(
        &format!("{MGMT}/createApi.http?responsetype={response_type}"),
        body,
    )
}

fn call(s: &Server, method: Method, path: &str, headers: &[(&str, &str)]) -> Resp {
    s.anon().send(method, path, headers, None)
}

#[test]
fn create_list_serve_delete() {
    let s = Server::start();
    let g = s.guest();

    // Nothing yet.
    let r = g.get(&format!("{MGMT}/getApi.http")).ok();
    assert_eq!(r, json!({"apis": []}));
    // The npm client's URL: no extension.
    let r = g.get(&format!("{MGMT}/getApi?basepath=/club")).ok();
    assert_eq!(r, json!({"apis": []}));

    web_action(
        &g,
        "hello",
        "function main(p) { return {greeting: 'hi ' + (p.name || 'you')} }",
        true,
    );
    web_action(
        &g,
        "book",
        "function main(p) { return {statusCode: 200, body: {path: p.__ow_path, method: p.__ow_method}} }",
        true,
    );
    web_action(&g, "plain", "function main(p) { return {} }", false);

    // createApi: `_` becomes the caller's namespace, the answer is the CLI's API value.
    let r = create(&g, &apidoc(&s, "/club", "/hello", "get", "hello"), "json").ok();
    assert_eq!(r["namespace"], "guest");
    assert_eq!(r["gwApiActivated"], true);
    let url = r["gwApiUrl"].as_str().unwrap();
    assert!(url.ends_with(&format!("/api/{GUEST_UUID}/club")), "{url}");
    let op = &r["apidoc"]["paths"]["/hello"]["get"];
    assert_eq!(op["operationId"], "getHello");
    assert_eq!(op["x-openwhisk"]["namespace"], "guest");
    assert!(op["x-openwhisk"]["url"]
        .as_str()
        .unwrap()
        .ends_with("/api/v1/web/guest/default/hello.json"));
    assert_eq!(r["apidoc"]["basePath"], "/club");

    // More routes on the same API: path parameters (http), another verb, a non-web action.
    create(
        &g,
        &apidoc(&s, "/club", "/books/{isbn}", "get", "book"),
        "http",
    )
    .ok();
    create(
        &g,
        &apidoc(&s, "/club", "/books/{isbn}", "delete", "book"),
        "http",
    )
    .ok();
    create(&g, &apidoc(&s, "/club", "/plain", "get", "plain"), "json").ok();

    // Path parameters need .http.
    // Failures of the management actions answer as upstream's: 502 `{"error": ...}`.
    let r = create(&g, &apidoc(&s, "/club", "/x/{id}", "get", "book"), "json");
    assert_eq!(r.status, 502, "{}", r.text);
    assert!(r.error().contains(".http"), "{}", r.text);

    // getApi lists the API (by base path or without filter).
    let list = g.get(&format!("{MGMT}/getApi.http?basepath=/club")).ok();
    let apis = list["apis"].as_array().unwrap();
    assert_eq!(apis.len(), 1);
    let value = &apis[0]["value"];
    assert_eq!(value["gwApiUrl"].as_str().unwrap(), url);
    let paths = value["apidoc"]["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert_eq!(paths["/books/{isbn}"].as_object().unwrap().len(), 2);

    // The gateway serves the routes.
    let gw = format!("/api/{GUEST_UUID}/club");
    let r = call(&s, Method::GET, &format!("{gw}/hello?name=ann"), &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"greeting": "hi ann"}));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let r = call(&s, Method::GET, &format!("{gw}/books/978-3"), &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"path": "/books/978-3", "method": "get"}));
    let r = call(&s, Method::DELETE, &format!("{gw}/books/1"), &[]);
    assert_eq!(r.body["method"], "delete", "{}", r.text);
    // Undefined verb, undefined path, non-web action: 404.
    assert_eq!(
        call(&s, Method::POST, &format!("{gw}/books/1"), &[]).status,
        404
    );
    assert_eq!(
        call(&s, Method::GET, &format!("{gw}/nope"), &[]).status,
        404
    );
    assert_eq!(
        call(&s, Method::GET, &format!("{gw}/plain"), &[]).status,
        404
    );
    assert_eq!(
        call(
            &s,
            Method::GET,
            "/api/00000000-0000-0000-0000-000000000000/club/hello",
            &[]
        )
        .status,
        404
    );
    // CORS preflight.
    let r = call(
        &s,
        Method::OPTIONS,
        &format!("{gw}/books/1"),
        &[("access-control-request-headers", "x-foo")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-headers"), Some("x-foo"));

    // Other response types, and a secured web action reached with the route's secure key.
    web_action(
        &g,
        "txt",
        "function main(p) { return {text: 'plain ' + p.__ow_method} }",
        true,
    );
    create(&g, &apidoc(&s, "/other", "/t", "post", "txt"), "text").ok();
    let r = call(&s, Method::POST, &format!("/api/{GUEST_UUID}/other/t"), &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "plain post");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let mut secured = node_action("function main(p) { return {ok: true} }");
    secured["annotations"] = json!([{"key": "web-export", "value": true},
                                    {"key": "require-whisk-auth", "value": "s3cret"}]);
    g.put(&format!("{NS}/actions/sec?overwrite=true"), &secured)
        .ok();
    let mut doc = apidoc(&s, "/other", "/sec", "get", "sec");
    doc["apidoc"]["action"]["secureKey"] = json!("s3cret");
    create(&g, &doc, "json").ok();
    let r = call(
        &s,
        Method::GET,
        &format!("/api/{GUEST_UUID}/other/sec"),
        &[],
    );
    assert_eq!(r.body, json!({"ok": true}), "{}", r.text);
    let r = call(&s, Method::GET, "/api/v1/web/guest/default/sec.json", &[]);
    assert_eq!(r.status, 401, "{}", r.text);
    // Two APIs now.
    let list = g.get(&format!("{MGMT}/getApi.http")).ok();
    assert_eq!(list["apis"].as_array().unwrap().len(), 2);
    g.delete(&format!("{MGMT}/deleteApi.http?basepath=/other"))
        .ok();

    // The rest of the API keeps working.
    assert_eq!(g.get(&format!("{NS}/actions/hello")).status, 200);

    // deleteApi: one operation, then one path, then the whole API.
    let del = |q: &str| g.delete(&format!("{MGMT}/deleteApi.http?{q}"));
    assert_eq!(
        del("basepath=/club&relpath=/books/{isbn}&operation=DELETE").ok(),
        json!({})
    );
    assert_eq!(
        call(&s, Method::DELETE, &format!("{gw}/books/1"), &[]).status,
        404
    );
    assert_eq!(
        call(&s, Method::GET, &format!("{gw}/books/1"), &[]).status,
        200
    );
    let r = del("basepath=/club&relpath=/nope");
    assert_eq!(r.status, 502, "{}", r.text);
    del("basepath=/club&relpath=/plain").ok();
    // Survives a restart.
    let s = s.restart();
    let g = s.guest();
    let r = call(&s, Method::GET, &format!("{gw}/hello"), &[]);
    assert_eq!(r.body, json!({"greeting": "hi you"}), "{}", r.text);
    g.delete(&format!("{MGMT}/deleteApi.http?basepath=/club"))
        .ok();
    assert_eq!(
        g.get(&format!("{MGMT}/getApi.http")).ok(),
        json!({"apis": []})
    );
    assert_eq!(
        call(&s, Method::GET, &format!("{gw}/hello"), &[]).status,
        404
    );
    let r = g.delete(&format!("{MGMT}/deleteApi.http?basepath=/club"));
    assert_eq!(r.status, 502, "{}", r.text);
    assert!(r.error().contains("does not exist"));
}

#[test]
fn swagger_import_export_and_bad_input() {
    let s = Server::start();
    let g = s.guest();
    web_action(
        &g,
        "hello",
        "function main(p) { return {hello: p.__ow_method} }",
        true,
    );
    let swagger = json!({
        "swagger": "2.0",
        "info": {"title": "Imported", "version": "1.0.0"},
        "basePath": "/imp",
        "paths": {"/hi": {"post": {
            "operationId": "postHi",
            "x-openwhisk": {"namespace": "_", "package": "", "action": "hello",
                            "url": "https://example.com/api/v1/web/_/default/hello.json"},
            "responses": {"default": {"description": "Default response"}}
        }}}
    });
    // The swagger may come as an object or as a JSON string (wsk sends a string).
    let body = json!({"apidoc": {"namespace": "_", "swagger": swagger.to_string()}});
    let r = g.post(&format!("{MGMT}/createApi.http"), &body).ok();
    assert_eq!(r["apidoc"]["info"]["title"], "Imported");
    assert_eq!(
        r["apidoc"]["paths"]["/hi"]["post"]["x-openwhisk"]["namespace"],
        "guest"
    );
    let r = call(&s, Method::POST, &format!("/api/{GUEST_UUID}/imp/hi"), &[]);
    assert_eq!(r.body, json!({"hello": "post"}), "{}", r.text);
    // Export: getApi by API name returns the swagger.
    let r = g.get(&format!("{MGMT}/getApi.http?basepath=Imported")).ok();
    assert_eq!(r["apis"][0]["value"]["apidoc"]["basePath"], "/imp");

    // Bad input: clear 4xx JSON errors, never 5xx.
    let post = |b: Value| g.post(&format!("{MGMT}/createApi.http"), &b);
    for (b, msg) in [
        (json!({}), "apidoc is required."),
        (json!({"apidoc": 5}), "should be a JSON object"),
        (json!({"apidoc": "{nope"}), "apidoc field cannot be parsed"),
        (json!({"apidoc": {"gatewayBasePath": "/a"}}), "namespace"),
        (
            json!({"apidoc": {"namespace": "_", "swagger": "{bad"}}),
            "swagger field cannot be parsed",
        ),
        (
            json!({"apidoc": {"namespace": "_", "swagger": {"info": {}, "paths": {}}}}),
            "basePath",
        ),
        (
            json!({"apidoc": {"namespace": "_", "swagger": {"basePath": "/a", "info": {}}}}),
            "paths",
        ),
        (
            json!({"apidoc": {"namespace": "_", "swagger": {"basePath": "/a", "paths": {}}}}),
            "info",
        ),
        (
            json!({"apidoc": {"namespace": "_", "swagger": {"basePath": "/a", "paths": {"/b": 1}, "info": {}}}}),
            "/b",
        ),
        (
            json!({"apidoc": {"namespace": "_", "gatewayBasePath": "/a"}}),
            "gatewayPath",
        ),
        (
            json!({"apidoc": {"namespace": "_", "gatewayBasePath": "/a", "gatewayPath": "/b", "gatewayMethod": "get"}}),
            "action",
        ),
    ] {
        let r = post(b.clone());
        assert_eq!(r.status, 502, "{b}: {}", r.text);
        assert!(r.error().contains(msg), "{b}: {}", r.text);
    }
    let r = g.send(
        Method::POST,
        &format!("{MGMT}/createApi.http"),
        &[("content-type", "application/json")],
        Some(b"not json".to_vec()),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    let r = g.get(&format!("{MGMT}/getApi.http?outputFormat=xml"));
    assert_eq!(r.status, 502, "{}", r.text);
    let r = g.delete(&format!("{MGMT}/deleteApi.http"));
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(r.error(), "basepath is required.");
    // Credentials are required.
    let r = s.anon().get(&format!("{MGMT}/getApi.http"));
    assert_eq!(r.status, 401, "{}", r.text);
    // Another namespace sees none of guest's APIs, and serves none at its uuid.
    let key = s.create_namespace("other");
    let o = s.api(Some(&key));
    assert_eq!(
        o.get(&format!("{MGMT}/getApi.http")).ok(),
        json!({"apis": []})
    );
    let other_uuid = key.split(':').next().unwrap();
    let r = call(&s, Method::POST, &format!("/api/{other_uuid}/imp/hi"), &[]);
    assert_eq!(r.status, 404, "{}", r.text);
    // The legacy routemgmt URL answers too; the package is visible.
    let r = g.get("/api/v1/web/whisk.system/routemgmt/getApi.json").ok();
    assert_eq!(r["apis"].as_array().unwrap().len(), 1);
    let p = g
        .get("/api/v1/namespaces/whisk.system/packages/apimgmt")
        .ok();
    assert_eq!(p["name"], "apimgmt");
    // Unknown management action.
    assert_eq!(g.get(&format!("{MGMT}/nope.http")).status, 404);
}
