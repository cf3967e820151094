//! TLS set-up of the agent: `--insecure` (no server verification) and client certificates
//! (mutual TLS, `wsk --cert --key`).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

/// A client certificate chain and its private key.
pub(crate) type Identity = (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

/// The agent every request goes through; `tls` replaces ureq's default TLS set-up.
pub(crate) fn agent(tls: Option<rustls::ClientConfig>) -> ureq::Agent {
    let mut builder = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(330))
        .redirects(0);
    if let Some(config) = tls {
        builder = builder.tls_config(Arc::new(config));
    }
    builder.build()
}

/// `None` when ureq's default (verify against the webpki roots, no client certificate) fits;
/// otherwise a config that skips server verification (`insecure`) and/or presents `identity`.
pub(crate) fn tls_config(
    insecure: bool,
    identity: Option<Identity>,
) -> Option<Result<rustls::ClientConfig>> {
    if !insecure && identity.is_none() {
        return None;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b,
        Err(e) => return Some(Err(Error::ClientIdentity(e.to_string()))),
    };
    let builder = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots)
    };
    Some(match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| Error::ClientIdentity(e.to_string())),
    })
}

/// Certificate verifier for `--insecure`: accepts any server certificate (signatures are still
/// checked so the handshake itself is sound).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Loads the PEM certificate chain `cert_pem` and its private key `key_pem`.
pub(crate) fn load_identity(cert_pem: &Path, key_pem: &Path) -> Result<Identity> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &Path, e: &dyn fmt::Display| {
        Error::ClientIdentity(format!("{}: {e}", what.display()))
    };
    let certs = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| bad(cert_pem, &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(cert_pem, &e))?;
    if certs.is_empty() {
        return Err(bad(cert_pem, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| bad(key_pem, &e))?;
    Ok((certs, key))
}
