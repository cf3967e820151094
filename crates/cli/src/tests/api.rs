//! `api create|get|list|delete` against the fake server: wsk's requests to the
//! `/whisk.system/apimgmt` web actions and wsk's output.

use serde_json::{json, Value};

use super::{env_for, run_env, Server, GUEST};

const GUID: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502";

fn swagger() -> Value {
    json!({
        "swagger": "2.0",
        "basePath": "/hello",
        "info": {"title": "/hello", "version": "1.0.0"},
        "paths": {
            "/world": {"get": {
                "operationId": "getWorld",
                "responses": {"default": {"description": "Default response"}},
                "x-openwhisk": {"namespace": "guest", "action": "hello", "package": "", "url": "http://x/api/v1/web/guest/default/hello.http"}
            }},
            "/zed": {"post": {
                "operationId": "postZed",
                "responses": {},
                "x-openwhisk": {"namespace": "guest", "action": "echo", "package": "demo", "url": "http://x/api/v1/web/guest/demo/echo.http"}
            }}
        }
    })
}

fn api_server(web: bool) -> Server {
    Server::start(move |r| {
        let path = r.path.as_str();
        if path.ends_with("/actions/hello") {
            let annots = if web {
                json!([{"key": "web-export", "value": true}, {"key": "require-whisk-auth", "value": 42}])
            } else {
                json!([])
            };
            return (
                200,
                json!({"name": "hello", "namespace": "guest", "annotations": annots}).to_string(),
            );
        }
        if path.ends_with("/actions/missing") {
            return (
                404,
                json!({"error": "The requested resource does not exist.", "code": "c1"})
                    .to_string(),
            );
        }
        let api = json!({"namespace": "guest", "gwApiUrl": "http://gw/api/g1/", "gwApiActivated": true, "tenantId": "t", "apidoc": swagger()});
        match (r.method.as_str(), path) {
            ("POST", "/api/v1/web/whisk.system/apimgmt/createApi.http") => (200, api.to_string()),
            ("GET", "/api/v1/web/whisk.system/apimgmt/getApi.http") => {
                if r.query.contains("basepath=%2Fnone") {
                    (200, json!({"apis": []}).to_string())
                } else if r.query.contains("basepath=%2Fbroken") {
                    (502, json!({"error": "API gateway is down"}).to_string())
                } else {
                    (
                        200,
                        json!({"apis": [{"id": "API:guest:/hello", "key": "k", "value": api}]})
                            .to_string(),
                    )
                }
            }
            ("DELETE", "/api/v1/web/whisk.system/apimgmt/deleteApi.http") => {
                (200, "{}".to_string())
            }
            _ => (404, json!({"error": "nope", "code": "c2"}).to_string()),
        }
    })
}

#[test]
fn api_create_sends_what_wsk_sends() {
    let s = api_server(true);
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(
        &[
            "api",
            "create",
            "/hello",
            "/world",
            "get",
            "hello",
            "--response-type",
            "json",
        ],
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(
        o.out,
        "ok: created API /hello/world GET for action /_/hello\nhttp://gw/api/g1/world\n"
    );
    let reqs = s.reqs();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/api/v1/namespaces/_/actions/hello");
    let c = &reqs[1];
    assert_eq!(c.method, "POST");
    assert_eq!(c.path, "/api/v1/web/whisk.system/apimgmt/createApi.http");
    assert_eq!(
        c.query,
        format!("accesstoken=DUMMY%20TOKEN&responsetype=json&spaceguid={GUID}")
    );
    assert!(c.header("authorization").unwrap().starts_with("Basic "));
    let doc = &c.json()["apidoc"];
    assert_eq!(doc["namespace"], "_");
    assert_eq!(doc["gatewayBasePath"], "/hello");
    assert_eq!(doc["gatewayPath"], "/world");
    assert_eq!(doc["gatewayMethod"], "GET");
    assert_eq!(doc["id"], "API:_:/hello");
    assert_eq!(doc["action"]["name"], "hello");
    assert_eq!(doc["action"]["namespace"], "_");
    assert_eq!(doc["action"]["backendMethod"], "GET");
    assert_eq!(
        doc["action"]["backendUrl"],
        format!("{}/api/v1/web/_/default/hello.http", s.url)
    );
    assert_eq!(doc["action"]["authkey"], GUEST);
    assert_eq!(doc["action"]["secureKey"], 42);
    assert!(doc.get("apiName").is_none());

    // Three arguments: base path "/", an API name, path parameters need --response-type http.
    let o = run_env(
        &["api", "create", "/p/{id}", "post", "hello", "-n", "Named"],
        &env,
    );
    assert_eq!(o.code, 1);
    assert_eq!(
        o.err,
        "error: Unable to parse api command arguments: A response type of 'http' is required when using path parameters.\nRun 'wsk --help' for usage.\n"
    );
    let o = run_env(
        &[
            "api",
            "create",
            "/p/{id}",
            "post",
            "hello",
            "-n",
            "Named",
            "--response-type",
            "http",
        ],
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.err);
    let doc = &s.reqs().last().unwrap().json()["apidoc"];
    assert_eq!(doc["gatewayBasePath"], "/");
    assert_eq!(doc["apiName"], "Named");
    assert_eq!(doc["pathParameters"][0]["name"], "id");
    assert_eq!(doc["pathParameters"][0]["in"], "path");
    assert_eq!(doc["pathParameters"][0]["required"], true);

    // An API name as first argument and --apiname.
    let o = run_env(
        &["api", "create", "name", "/a", "get", "hello", "-n", "x"],
        &env,
    );
    assert_eq!(o.code, 1);
    assert!(
        o.err.contains("An API name can only be specified once."),
        "{}",
        o.err
    );
    let o = run_env(&["api", "create", "/a", "/b", "fetch", "hello"], &env);
    assert_eq!(o.code, 1);
    assert!(
        o.err.starts_with("error: Unable to parse api command arguments: 'fetch' is not a valid API verb.  Valid values are: ["),
        "{}",
        o.err
    );
    let o = run_env(&["api", "create", "/a", "b", "get", "hello"], &env);
    assert!(o.err.contains("'b' must begin with '/'."), "{}", o.err);
    let o = run_env(&["api", "create"], &env);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.err,
        "error: Invalid argument(s). Specify a swagger file or specify an API base path with an API path, an API verb, and an action name.\nRun 'wsk --help' for usage.\n"
    );
    let o = run_env(&["api", "create", "/a", "get"], &env);
    assert_eq!(o.code, 1);
    assert!(
        o.err
            .starts_with("error: Invalid argument(s). Specify a swagger file"),
        "{}",
        o.err
    );
}

#[test]
fn api_create_refuses_non_web_actions() {
    let s = api_server(false);
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["api", "create", "/hello", "/world", "get", "hello"], &env);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.err,
        "error: Action '/_/hello' is not a web action. Issue 'wsk action update \"/_/hello\" --web true' to convert the action to a web action.\nRun 'wsk --help' for usage.\n"
    );
    assert_eq!(s.reqs().len(), 1, "no create request");
    let o = run_env(
        &["api", "create", "/hello", "/world", "get", "missing"],
        &env,
    );
    assert_eq!(o.code, 1);
    assert!(
        o.err.starts_with("error: Unable to get action '/_/missing': The requested resource does not exist. (code c1)\n"),
        "{}",
        o.err
    );
}

#[test]
fn api_create_from_swagger_file() {
    let s = api_server(true);
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    std::fs::write(d.path().join("api.json"), swagger().to_string()).unwrap();
    let o = run_env(&["api", "create", "-c", "api.json"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(
        o.out,
        "ok: created API /hello/world get for action /guest/hello\nhttp://gw/api/g1/world\nok: created API /hello/zed post for action /guest/demo/echo\nhttp://gw/api/g1/zed\n"
    );
    let r = s.reqs().last().unwrap().clone();
    assert_eq!(r.json()["apidoc"]["swagger"], swagger().to_string());
    std::fs::write(d.path().join("bad.json"), "{\"swagger\": \"2.0\"}").unwrap();
    let o = run_env(&["api", "create", "--config-file", "bad.json"], &env);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.err,
        "error: Unable to parse swagger file: Swagger file is invalid (missing basePath, info, paths, or swagger fields)\nRun 'wsk --help' for usage.\n"
    );
}

#[test]
fn api_get_json_yaml_full_and_missing() {
    let s = api_server(true);
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["api", "get", "/hello"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(serde_json::from_str::<Value>(&o.out).unwrap(), swagger());
    assert!(o.out.starts_with("{\n    \""), "{}", o.out);
    let r = s.reqs().last().unwrap().clone();
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/api/v1/web/whisk.system/apimgmt/getApi.http");
    assert_eq!(
        r.query,
        format!("accesstoken=DUMMY%20TOKEN&basepath=%2Fhello&spaceguid={GUID}")
    );
    let o = run_env(&["api", "get", "/hello", "-f"], &env);
    assert_eq!(
        serde_json::from_str::<Value>(&o.out).unwrap()["gwApiUrl"],
        "http://gw/api/g1/"
    );
    let o = run_env(&["api", "get", "/hello", "--format", "yaml"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(
        o.out
            .starts_with("basePath: /hello\ninfo:\n  title: /hello\n"),
        "{}",
        o.out
    );
    assert!(o.out.ends_with("swagger: \"2.0\"\n\n"), "{}", o.out);
    let o = run_env(&["api", "get", "/hello", "--format", "xml"], &env);
    assert_eq!(
        (o.code, o.err.as_str()),
        (1, "error: Invalid format type: xml\n")
    );
    let o = run_env(&["api", "get", "/none"], &env);
    assert_eq!(
        (o.code, o.err.as_str()),
        (1, "error: API does not exist for basepath /none\n")
    );
    let o = run_env(&["api", "get", "/broken"], &env);
    assert_eq!(
        (o.code, o.err.as_str()),
        (
            1,
            "error: Unable to get API '/broken': API gateway is down\n"
        )
    );
    let o = run_env(&["api", "get"], &env);
    assert_eq!(o.code, 1);
    assert!(o
        .err
        .starts_with("error: Invalid argument(s). An API base path or API name is required.\n"));
}

#[test]
fn api_list_table_full_and_filters() {
    let s = api_server(true);
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["api", "list"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(
        o.out,
        "ok: APIs\n\
         Action              Verb  API Name  URL\n\
         /guest/hello         get    /hello  http://gw/api/g1/world\n\
         /guest/demo/echo    post    /hello  http://gw/api/g1/zed\n"
    );
    let r = s.reqs().last().unwrap().clone();
    assert_eq!(
        r.query,
        format!("accesstoken=DUMMY%20TOKEN&limit=30&skip=0&spaceguid={GUID}")
    );
    let o = run_env(&["api", "list", "/hello", "/zed", "post", "-f"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(
        o.out,
        "ok: APIs\nAction: /guest/demo/echo\n   API Name: /hello\n   Base path: /hello\n   Path: /zed\n   Verb: post\n   URL: http://gw/api/g1/zed\n"
    );
    let r = s.reqs().last().unwrap().clone();
    assert_eq!(
        r.query,
        format!("accesstoken=DUMMY%20TOKEN&basepath=%2Fhello&operation=POST&relpath=%2Fzed&spaceguid={GUID}")
    );
    let o = run_env(&["api", "list", "/none"], &env);
    assert_eq!(
        o.out,
        "ok: APIs\nAction                            Verb             API Name  URL\n"
    );
    let o = run_env(&["api", "list", "/hello", "zed"], &env);
    assert_eq!(o.code, 1);
    assert!(
        o.err.starts_with("error: 'zed' must begin with '/'.\n"),
        "{}",
        o.err
    );
}

#[test]
fn api_delete_lines() {
    let s = api_server(true);
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["api", "delete", "/hello"], &env);
    assert_eq!((o.code, o.out.as_str()), (0, "ok: deleted API /hello\n"));
    let r = s.reqs().last().unwrap().clone();
    assert_eq!(r.method, "DELETE");
    assert_eq!(r.path, "/api/v1/web/whisk.system/apimgmt/deleteApi.http");
    let o = run_env(&["api", "delete", "/hello", "/world"], &env);
    assert_eq!(o.out, "ok: deleted /world from /hello\n");
    let o = run_env(&["api", "delete", "/hello", "/world", "get"], &env);
    assert_eq!(o.out, "ok: deleted /world GET from /hello\n");
    let r = s.reqs().last().unwrap().clone();
    assert_eq!(
        r.query,
        format!("accesstoken=DUMMY%20TOKEN&basepath=%2Fhello&operation=GET&relpath=%2Fworld&spaceguid={GUID}")
    );
    let o = run_env(&["api", "delete"], &env);
    assert_eq!(o.code, 1);
    // An access token from the properties file.
    let props = std::fs::read_to_string(d.path().join(".wskprops")).unwrap();
    std::fs::write(
        d.path().join(".wskprops"),
        format!("{props}APIGW_ACCESS_TOKEN=tok\n"),
    )
    .unwrap();
    run_env(&["api", "delete", "/hello"], &env);
    assert!(s
        .reqs()
        .last()
        .unwrap()
        .query
        .starts_with("accesstoken=tok&"));
}
