//! Mutual TLS (`wsk --cert --key`): the client presents its certificate to a server that
//! requires one, and a server that requires one refuses a client without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use whirl_client::{Client, Error};

struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateDer<'static>,
    server: (CertificateDer<'static>, PrivateKeyDer<'static>),
}

/// A CA, a server certificate for localhost and a client certificate (written as PEM files).
fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "whirl test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = p.signed_by(&server_key, &ca, &ca_key).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "wsk user");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = p.signed_by(&client_key, &ca, &ca_key).unwrap();

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client.pem"), client.pem()).unwrap();
    std::fs::write(dir.path().join("client.key"), client_key.serialize_pem()).unwrap();
    Pki {
        dir,
        ca: ca.der().clone(),
        server: (
            server.der().clone(),
            PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
        ),
    }
}

/// A one-thread HTTPS server that requires a client certificate signed by the CA and answers
/// each request with the subject it saw; serves `n` connections.
fn server(pki: &Pki, n: usize) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key())
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, stream.unwrap());
            let mut head = Vec::new();
            let mut reader = BufReader::new(&mut tls);
            let ok = loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break false,
                    Ok(_) if line == "\r\n" => break true,
                    Ok(_) => head.push(line),
                }
            };
            if !ok {
                continue;
            }
            let body = format!(
                "{{\"client_certs\":{}}}",
                tls.conn.peer_certificates().map_or(0, <[_]>::len)
            );
            let _ = write!(
                tls,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    port
}

#[test]
fn client_certificate_is_presented_and_required() {
    let pki = pki();
    let port = server(&pki, 2);
    let host = format!("https://localhost:{port}");
    let dir = pki.dir.path();
    // The test CA is not a public root: skip server verification (wsk -i), still present the
    // client certificate.
    let with_cert = Client::new(&host, None, "", true)
        .unwrap()
        .with_client_cert(&dir.join("client.pem"), &dir.join("client.key"))
        .unwrap();
    let info = with_cert.api_info().unwrap();
    assert_eq!(info["client_certs"], 1, "{info}");

    let without = Client::new(&host, None, "", true).unwrap();
    match without.api_info() {
        Err(Error::Transport(msg)) => assert!(!msg.is_empty()),
        other => panic!("a server requiring a client certificate answered {other:?}"),
    }
}

#[test]
fn unreadable_or_mismatched_identity_is_an_error() {
    let pki = pki();
    let dir = pki.dir.path();
    let c = || Client::new("https://localhost:1", None, "", false).unwrap();
    let missing = c().with_client_cert(Path::new("/nonexistent.pem"), &dir.join("client.key"));
    assert!(
        matches!(&missing, Err(Error::ClientIdentity(m)) if m.contains("/nonexistent.pem")),
        "{missing:?}"
    );
    // A key file given as the certificate: no certificate in it.
    let swapped = c().with_client_cert(&dir.join("client.key"), &dir.join("client.key"));
    assert!(
        matches!(swapped, Err(Error::ClientIdentity(_))),
        "{swapped:?}"
    );
    // Another key than the certificate's.
    let other = KeyPair::generate().unwrap();
    std::fs::write(dir.join("other.key"), other.serialize_pem()).unwrap();
    let mismatched = c().with_client_cert(&dir.join("client.pem"), &dir.join("other.key"));
    assert!(
        matches!(mismatched, Err(Error::ClientIdentity(_))),
        "{mismatched:?}"
    );
}
