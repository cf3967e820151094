//! `property`, configuration precedence, exit codes and error messages, the `wsk` symlink,
//! completions, `-v`, `namespace` and `list`.

use crate::support::{closed_port, row, Server, Wsk, GUEST_KEY};

const BAD_KEY: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:wrong";

#[test]
fn property_set_get_unset() {
    let s = Server::start();
    let w = Wsk::new();

    // Nothing configured yet.
    let o = w.ok(&["property", "get", "--apihost"]);
    assert_eq!(o.stdout, "whisk API host\t\t\n");
    let o = w.fails(&["action", "list"], 1);
    assert!(
        o.stderr.contains("The API host is not valid"),
        "{}",
        o.stderr
    );

    let o = w.ok(&[
        "property",
        "set",
        "--apihost",
        &s.api_host,
        "--auth",
        GUEST_KEY,
        "--apiversion",
        "v1",
        "--cert",
        "my.cert",
        "--key",
        "my.key",
    ]);
    assert_eq!(
        o.stdout,
        format!(
            "ok: client cert set. Run 'wsk property get --cert' to see the new value.\n\
             ok: client key set. Run 'wsk property get --key' to see the new value.\n\
             ok: whisk auth set. Run 'wsk property get --auth' to see the new value.\n\
             ok: whisk API host set to {}\n\
             ok: whisk API version set to v1\n",
            s.api_host
        )
    );
    let props = w.read(".wskprops");
    assert!(
        props.contains(&format!("APIHOST={}\n", s.api_host)),
        "{props}"
    );
    assert!(props.contains(&format!("AUTH={GUEST_KEY}\n")), "{props}");

    let o = w.ok(&["property", "get", "--apihost"]);
    assert_eq!(o.stdout, format!("whisk API host\t\t{}\n", s.api_host));
    let o = w.ok(&["property", "get", "--auth", "-o", "raw"]);
    assert_eq!(o.stdout, format!("{GUEST_KEY}\n"));
    let o = w.ok(&["property", "get", "--apiversion"]);
    assert_eq!(o.stdout, "whisk API version\tv1\n");
    let o = w.ok(&["property", "get", "--cert", "--key"]);
    assert_eq!(o.stdout, "client cert\t\tmy.cert\nClient key\t\tmy.key\n");
    // Those files do not exist, and requests load them (client_certificate_flags_follow_wsk).
    w.ok(&["property", "unset", "--cert", "--key"]);
    // The namespace and the build come from the server.
    let o = w.ok(&["property", "get", "--namespace"]);
    assert_eq!(o.stdout, "whisk namespace\t\tguest\n");
    let o = w.ok(&[
        "property",
        "get",
        "--apibuild",
        "--apibuildno",
        "--cliversion",
    ]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", o.stdout);
    assert!(lines[0].starts_with("whisk CLI version\t"), "{}", o.stdout);
    assert!(lines[1].starts_with("whisk API build\t\t"), "{}", o.stdout);
    assert!(
        lines[2].starts_with("whisk API build number\t"),
        "{}",
        o.stdout
    );
    assert!(!lines[1].ends_with("Unknown"), "{}", o.stdout);
    let o = w.ok(&["property", "get"]);
    for label in [
        "whisk API host",
        "whisk auth",
        "whisk namespace\t\tguest",
        "client cert",
        "Client key",
        "whisk API version",
        "whisk CLI version",
        "whisk API build",
        "whisk API build number",
    ] {
        assert!(o.stdout.contains(label), "{label} missing in\n{}", o.stdout);
    }
    let o = w.fails(&["property", "get", "-o", "raw"], 1);
    assert!(
        o.stderr.contains("--output|-o raw only supported"),
        "{}",
        o.stderr
    );

    // The configured client works.
    w.ok(&["action", "list"]);

    // unset, each selector.
    let o = w.ok(&["property", "unset", "--cert", "--key"]);
    assert_eq!(o.stdout, "ok: client cert unset.\nok: client key unset.\n");
    let o = w.ok(&["property", "unset", "--apiversion"]);
    assert_eq!(
        o.stdout,
        "ok: whisk API version unset; the default value of v1 will be used.\n"
    );
    let o = w.ok(&["property", "get", "--apiversion", "-o", "raw"]);
    assert_eq!(o.stdout, "v1\n");
    let o = w.ok(&["property", "unset", "--auth"]);
    assert_eq!(o.stdout, "ok: whisk auth unset.\n");
    let o = w.ok(&["property", "get", "--auth", "-o", "raw"]);
    assert_eq!(o.stdout, "\n");
    // Missing credentials: a usage error (exit 2), like wsk.
    let o = w.fails(&["action", "list"], 2);
    assert_eq!(
        o.stderr,
        "error: Authorization key is not configured (--auth is required)\n\
         Run 'whirl --help' for usage.\n"
    );
    let o = w.ok(&["property", "unset", "--apihost"]);
    assert_eq!(o.stdout, "ok: whisk API host unset.\n");
    let props = w.read(".wskprops");
    assert!(
        !props.contains("APIHOST") && !props.contains("AUTH"),
        "{props}"
    );
    let o = w.fails(&["action", "list", "--auth", GUEST_KEY], 1);
    assert!(
        o.stderr.contains("An API host must be provided"),
        "{}",
        o.stderr
    );
}

#[test]
fn configuration_precedence() {
    let s = Server::start();
    let dead = format!("http://127.0.0.1:{}", closed_port());

    // wskprops: a good host and a bad key.
    let w = Wsk::new();
    w.write(
        ".wskprops",
        format!("APIHOST={}\nAUTH={BAD_KEY}\n", s.api_host),
    );
    let o = w.fails(&["namespace", "list"], 145);
    assert!(
        o.stderr.contains("The supplied authentication is invalid"),
        "{}",
        o.stderr
    );
    // A flag beats wskprops.
    w.ok(&["namespace", "list", "-u", GUEST_KEY]);
    w.ok(&["namespace", "list", "--auth", GUEST_KEY]);

    // env beats wskprops ...
    let w = w.env("WHISK_AUTH", GUEST_KEY);
    let o = w.ok(&["namespace", "list"]);
    assert_eq!(o.stdout, "namespaces\nguest\n");
    // ... and the flag beats env.
    w.fails(&["namespace", "list", "--auth", BAD_KEY], 145);
    w.fails(&["-u", BAD_KEY, "namespace", "list"], 145);

    // Same for the host: wskprops points at nothing, env at the server, the flag at nothing.
    let w = Wsk::new();
    w.write(".wskprops", format!("APIHOST={dead}\nAUTH={GUEST_KEY}\n"));
    let o = w.fails(&["action", "list"], 3);
    assert!(o.stderr.contains(&dead), "{}", o.stderr);
    let w = w.env("WHISK_APIHOST", &s.api_host);
    w.ok(&["action", "list"]);
    let o = w.ok(&["property", "get", "--apihost", "-o", "raw"]);
    assert_eq!(o.stdout, format!("{}\n", s.api_host));
    w.fails(&["action", "list", "--apihost", &dead], 3);
    // -i is accepted (TLS verification off; nothing changes over http).
    w.ok(&["-i", "action", "list"]);
    w.ok(&["action", "list", "-i"]);

    // WSK_CONFIG_FILE replaces ~/.wskprops for reading and writing.
    let w = Wsk::new();
    w.write(".wskprops", format!("APIHOST={dead}\nAUTH={BAD_KEY}\n"));
    let custom = w.dir().join("custom.props");
    let w = w.env("WSK_CONFIG_FILE", custom.to_str().expect("utf8"));
    w.ok(&[
        "property",
        "set",
        "--apihost",
        &s.api_host,
        "--auth",
        GUEST_KEY,
    ]);
    let text = std::fs::read_to_string(&custom).expect("custom props");
    assert!(text.contains(&format!("APIHOST={}", s.api_host)), "{text}");
    assert!(w.read(".wskprops").contains(&dead), "~/.wskprops untouched");
    w.ok(&["namespace", "list"]);

    // A host without a scheme means https.
    let w = Wsk::new();
    let bare = format!("127.0.0.1:{}", s.port);
    let o = w.ok(&["property", "set", "--apihost", &bare, "--auth", GUEST_KEY]);
    assert_eq!(
        o.stdout.lines().nth(1),
        Some(format!("ok: whisk API host set to {bare}").as_str())
    );
    let o = w.ok(&["property", "get", "--apihost"]);
    assert_eq!(o.stdout, format!("whisk API host\t\t{bare}\n"));
    // The plain-http server cannot speak TLS: a network error naming the https URL.
    let o = w.fails(&["-v", "action", "list"], 3);
    let url = format!("https://{bare}/api/v1/namespaces/_/actions");
    assert!(o.stdout.contains(&format!("[GET]\t{url}")), "{}", o.stdout);
    assert!(o.stderr.contains(&url), "{}", o.stderr);
    // With the scheme given on the command line it works.
    w.ok(&["action", "list", "--apihost", &s.api_host]);
}

#[test]
fn exit_codes_and_error_messages() {
    let s = Server::start();
    let w = s.wsk();
    w.write(
        "hello.js",
        "function main(p) { return {payload: 'Hello, ' + p.name} }",
    );
    w.write("fail.js", "function main(p) { return {error: 'boom'} }");
    w.ok(&["action", "create", "hello", "hello.js"]);
    w.ok(&["action", "create", "fail", "fail.js"]);

    // 404 → 148, with the server's message and the request id.
    let o = w.fails(&["action", "get", "nope"], 148);
    assert!(
        o.stderr.starts_with(
            "error: Unable to get action 'nope': The requested resource does not exist. (code "
        ),
        "{}",
        o.stderr
    );
    o.request_id();
    assert!(
        o.stderr.ends_with(")\nRun 'whirl --help' for usage.\n"),
        "{}",
        o.stderr
    );
    assert_eq!(o.stdout, "");
    w.fails(&["trigger", "get", "nope"], 148);
    w.fails(&["rule", "get", "nope"], 148);
    w.fails(&["package", "get", "nope"], 148);
    w.fails(
        &["activation", "get", "0123456789abcdef0123456789abcdef"],
        148,
    );
    w.fails(&["action", "invoke", "nope"], 148);
    w.fails(&["trigger", "fire", "nope"], 148);
    w.fails(&["action", "delete", "nope"], 148);

    // 409 → 153.
    let o = w.fails(&["action", "create", "hello", "hello.js"], 153);
    assert!(
        o.stderr
            .starts_with("error: Unable to create action 'hello': "),
        "{}",
        o.stderr
    );
    o.request_id();

    // 401 → 145.
    let o = w.fails(&["action", "list", "-u", BAD_KEY], 145);
    assert!(
        o.stderr
            .contains("The supplied authentication is invalid (code "),
        "{}",
        o.stderr
    );
    o.request_id();

    // 400 → 144 (the server's validation message is shown).
    let o = w.fails(&["action", "update", "hello", "--memory", "1"], 144);
    assert!(
        o.stderr
            .starts_with("error: Unable to update action 'hello': "),
        "{}",
        o.stderr
    );
    o.request_id();

    // A failing blocking invoke: 502 → 246; the activation goes to stderr.
    let o = w.fails(&["action", "invoke", "fail", "--blocking"], 246);
    assert_eq!(o.stdout, "");
    let first = o.stderr.lines().next().unwrap_or("");
    assert!(
        first.starts_with("ok: invoked /_/fail with id "),
        "{}",
        o.stderr
    );
    let a = o.stderr_json();
    assert_eq!(a["activationId"].as_str(), Some(o.id().as_str()));
    assert_eq!(a["response"]["status"], "application error");
    assert_eq!(a["response"]["result"]["error"], "boom");
    let o = w.fails(&["action", "invoke", "fail", "-r"], 246);
    assert_eq!(o.stderr, "{\n    \"error\": \"boom\"\n}\n");
    // Not blocking: accepted, success.
    let o = w.ok(&["action", "invoke", "fail"]);
    o.id();

    // Usage errors (wsk: 2): missing files.
    let o = w.fails(&["action", "create", "x", "missing.js"], 2);
    assert!(
        o.stderr
            .contains("File 'missing.js' is not a valid file or it does not exist"),
        "{}",
        o.stderr
    );
    let o = w.fails(&["action", "invoke", "hello", "-P", "missing.json"], 2);
    assert!(
        o.stderr
            .contains("File 'missing.json' is not a valid file or it does not exist"),
        "{}",
        o.stderr
    );
    let o = w.fails(
        &["action", "create", "x", "hello.js", "--web-secure", "s"],
        2,
    );
    assert!(
        o.stderr
            .contains("only valid when the --web option is enabled"),
        "{}",
        o.stderr
    );
    w.fails(&["action", "create", "x", "hello.js", "--web", "maybe"], 2);
    let z = w.write("x.zip", crate::support::zip_of(&[("index.js", "", 0o644)]));
    let o = w.fails(&["action", "create", "x", z.to_str().expect("utf8")], 2);
    assert!(
        o.stderr.contains("requires specifying the action kind"),
        "{}",
        o.stderr
    );
    // Not allowed combinations: 149.
    w.fails(
        &[
            "action",
            "create",
            "x",
            "hello.js",
            "--kind",
            "nodejs:20",
            "--docker",
            "i",
        ],
        149,
    );
    // Bad syntax (cobra in wsk, clap here): 1.
    let o = w.fails(&["action", "frobnicate"], 1);
    assert!(o.stderr.contains("frobnicate"), "{}", o.stderr);
    w.fails(&["action", "invoke"], 1);
    w.fails(&["action", "invoke", "hello", "-p", "name"], 1);
    w.fails(&["action", "invoke", "hello", "extra"], 1);
    // Network failure: 3.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    w.fails(&["action", "list", "--apihost", &dead], 3);
    drop(s);
}

#[test]
fn invoked_as_wsk_through_a_symlink() {
    let s = Server::start();
    let w = Wsk::new().via_wsk_symlink();
    w.write(
        ".wskprops",
        format!("APIHOST={}\nAUTH={GUEST_KEY}\n", s.api_host),
    );
    let o = w.ok(&["--help"]);
    assert!(o.stdout.contains("Usage: wsk"), "{}", o.stdout);
    assert!(!o.stdout.contains("Usage: whirl"), "{}", o.stdout);
    let o = w.ok(&["action", "--help"]);
    assert!(o.stdout.contains("Usage: wsk action"), "{}", o.stdout);
    // A client verb works ...
    w.write("hello.js", "function main(p) { return {ok: true} }");
    let o = w.ok(&["action", "create", "hello", "hello.js"]);
    assert_eq!(o.stdout, "ok: created action hello\n");
    let o = w.ok(&["action", "invoke", "hello", "-r"]);
    assert_eq!(o.stdout, "{\n    \"ok\": true\n}\n");
    // ... errors name the program wsk ...
    let o = w.fails(&["action", "get", "nope"], 148);
    assert!(
        o.stderr.ends_with("Run 'wsk --help' for usage.\n"),
        "{}",
        o.stderr
    );
    // ... and the server verbs are not there.
    let o = w.fails(&["standalone", "--port", "0"], 1);
    assert!(o.stderr.contains("standalone"), "{}", o.stderr);
    let o = w.ok(&["completions", "bash"]);
    assert!(
        o.stdout.contains("_wsk()"),
        "{}",
        &o.stdout[..200.min(o.stdout.len())]
    );

    // The plain binary shows whirl, with the server verbs.
    let plain = Wsk::new();
    let o = plain.ok(&["--help"]);
    assert!(o.stdout.contains("standalone"), "{}", o.stdout);
    let o = plain.ok(&["action", "--help"]);
    assert!(o.stdout.contains("Usage: whirl action"), "{}", o.stdout);
}

#[test]
fn completions() {
    let w = Wsk::new();
    let o = w.ok(&["completions", "bash"]);
    assert!(o.stdout.contains("_whirl()"), "bash");
    assert!(o.stdout.contains("complete -F _whirl"), "bash");
    assert!(o.stdout.contains("activation"), "bash lists the verbs");
    let o = w.ok(&["completions", "zsh"]);
    assert!(o.stdout.starts_with("#compdef whirl"), "zsh");
    assert!(o.stdout.contains("trigger"), "zsh lists the verbs");
    let o = w.ok(&["completions", "fish"]);
    assert!(o.stdout.contains("complete -c whirl"), "fish");
    assert!(o.stdout.contains("rule"), "fish lists the verbs");
    w.fails(&["completions", "tcsh"], 1);
}

#[test]
fn verbose_namespace_and_list() {
    let s = Server::start();
    let w = s.wsk();
    w.write("a.js", "function main(p) { return p }");
    w.ok(&["action", "create", "zeta", "a.js"]);
    w.ok(&["action", "create", "alpha", "a.js"]);
    w.ok(&["package", "create", "pkg"]);
    w.ok(&["action", "create", "pkg/inner", "a.js"]);
    w.ok(&["trigger", "create", "t"]);
    w.ok(&["rule", "create", "r", "t", "alpha"]);
    let kind = w.ok(&["action", "get", "alpha", "exec"]).json()["kind"]
        .as_str()
        .expect("kind")
        .to_string();
    let node = format!("private {kind}");

    // -v prints the request and the response.
    let o = w.ok(&["-v", "action", "get", "alpha", "name"]);
    let url = format!(
        "{}/api/v1/namespaces/_/actions/alpha?code=false",
        s.api_host
    );
    assert!(
        o.stdout.starts_with(&format!("REQUEST:\n[GET]\t{url}\n")),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("RESPONSE:\nGot response with code 200\n"),
        "{}",
        o.stdout
    );
    assert!(o
        .stdout
        .ends_with("ok: got action alpha, displaying field name\n\"alpha\"\n"));
    let o = w.ok(&["action", "update", "alpha", "--verbose", "-p", "k", "v"]);
    assert!(o.stdout.contains("[PUT]\t"), "{}", o.stdout);
    assert!(o.stdout.contains("Req Body\n"), "{}", o.stdout);
    assert!(
        o.stdout
            .contains("\"parameters\":[{\"key\":\"k\",\"value\":\"v\"}]"),
        "{}",
        o.stdout
    );

    let o = w.ok(&["namespace", "list"]);
    assert_eq!(o.stdout, "namespaces\nguest\n");
    // -n: by name, actions of the default package first (like wsk).
    let o = w.ok(&["namespace", "get", "-n"]);
    let expected = format!(
        "Entities in namespace: default\n\
         packages\n{}\n\
         actions\n{}\n{}\n{}\n\
         triggers\n{}\n\
         rules\n{}\n",
        row("/guest/pkg", "private"),
        row("/guest/alpha", &node),
        row("/guest/zeta", &node),
        row("/guest/pkg/inner", &node),
        row("/guest/t", "private"),
        row("/guest/r", &format!("{:<20} active", "private")),
    );
    assert_eq!(o.stdout, expected);
    let o = w.ok(&["list", "--name-sort"]);
    assert_eq!(o.stdout, expected);
    let o = w.ok(&["namespace", "get", "/guest", "-n"]);
    assert!(
        o.stdout
            .starts_with("Entities in namespace: guest\npackages\n"),
        "{}",
        o.stdout
    );
    let o = w.ok(&["list", "/_"]);
    assert!(
        o.stdout.contains(&row("/guest/zeta", &node)),
        "{}",
        o.stdout
    );
}

#[test]
fn client_certificate_flags_follow_wsk() {
    let s = Server::start();
    let w = s.wsk();
    // One file without the other is an error (exit 1) unless certificate checking is off.
    let o = w.fails(&["list", "--cert", "client.pem"], 1);
    assert_eq!(
        o.stderr,
        "error: The Key file is not configured. Please configure the missing Key file.\n"
    );
    let o = w.fails(&["list", "--key", "client.key"], 1);
    assert_eq!(
        o.stderr,
        "error: The Cert file is not configured. Please configure the missing Cert file.\n"
    );
    w.ok(&["list", "-i", "--cert", "client.pem"]);
    // Both files: they are loaded before any request.
    let o = w.fails(&["list", "--cert", "nope.pem", "--key", "nope.key"], 1);
    assert!(
        o.stderr.starts_with(
            "error: Unable to load the X509 key pair due to the following reason: nope.pem: "
        ),
        "{}",
        o.stderr
    );
    // The same from ~/.wskprops.
    w.ok(&["property", "set", "--cert", "nope.pem", "--key", "nope.key"]);
    let o = w.fails(&["list"], 1);
    assert!(
        o.stderr.contains("Unable to load the X509 key pair"),
        "{}",
        o.stderr
    );
}
