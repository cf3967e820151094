//! The execution context of one command: output streams, configuration, the client.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use whirl_client::Client;

use super::R;
use crate::args::GlobalOpts;
use crate::config::{Overrides, Properties};
use crate::messages;
use crate::params::{merge, KvArgs};
use crate::{CliError, Env, TraceBuf};

/// Execution context of one command.
pub(crate) struct Ctx<'a> {
    pub(super) env: &'a Env,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    pub(super) prog: String,
    pub(super) kv: KvArgs,
    global: GlobalOpts,
    props: Option<Properties>,
    trace: TraceBuf,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        env: &'a Env,
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
        prog: String,
        kv: KvArgs,
    ) -> Ctx<'a> {
        Ctx {
            env,
            out,
            err,
            prog,
            kv,
            global: GlobalOpts::default(),
            props: None,
            trace: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Moves `-v` output collected by the client hook to stdout.
    pub(crate) fn flush_trace(&mut self) {
        let data = match self.trace.lock() {
            Ok(mut b) => std::mem::take(&mut *b),
            Err(_) => return,
        };
        if !data.is_empty() {
            let _ = self.out.write_all(&data);
        }
    }

    pub(super) fn p(&mut self, text: &str) {
        self.flush_trace();
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    pub(super) fn e(&mut self, text: &str) {
        self.flush_trace();
        let _ = self.err.write_all(text.as_bytes());
    }

    pub(super) fn set_global(&mut self, top: &GlobalOpts, leaf: &GlobalOpts) {
        self.global = top.merge(leaf);
    }

    pub(super) fn props(&mut self) -> R<Properties> {
        if let Some(p) = &self.props {
            return Ok(p.clone());
        }
        let g = &self.global;
        let o = Overrides {
            auth: g.auth.clone(),
            apihost: g.apihost.clone(),
            apiversion: g.apiversion.clone(),
            cert: g.cert.clone(),
            key: g.key.clone(),
        };
        let p = Properties::load(self.env, &o).map_err(|m| {
            CliError::general(format!("Unable to access configuration properties: {m}"))
                .with_usage(true)
        })?;
        self.props = Some(p.clone());
        Ok(p)
    }

    /// Namespace used for unqualified names (`_` unless configured).
    pub(super) fn ns(&mut self) -> R<String> {
        Ok(self.props()?.namespace)
    }

    pub(super) fn client(&mut self) -> R<Client> {
        let p = self.props()?;
        if p.apihost.is_empty() {
            return Err(CliError::general(messages::APIHOST_REQUIRED));
        }
        let auth = if p.auth.is_empty() {
            None
        } else {
            Client::parse_auth(&p.auth)
        };
        let insecure = self.global.insecure;
        let mut c = Client::new(&p.apihost, auth, &p.namespace, insecure)
            .map_err(|e| CliError::general(format!("The API host is not valid: {e}")))?;
        // Like wsk: a client certificate needs both files; one without the other is an error
        // unless certificate checking is off.
        match (p.cert.is_empty(), p.key.is_empty()) {
            (false, false) => {
                c = c
                    .with_client_cert(std::path::Path::new(&p.cert), std::path::Path::new(&p.key))
                    .map_err(|e| {
                        CliError::general(format!(
                            "Unable to load the X509 key pair due to the following reason: {e}"
                        ))
                    })?;
            }
            (true, false) if !insecure => {
                return Err(CliError::general(messages::CERT_MISSING));
            }
            (false, true) if !insecure => {
                return Err(CliError::general(messages::KEY_MISSING));
            }
            _ => {}
        }
        if self.global.verbose || self.global.debug {
            let buf = self.trace.clone();
            c = c.with_trace(Arc::new(move |t: &str| {
                if let Ok(mut b) = buf.lock() {
                    b.extend_from_slice(t.as_bytes());
                }
            }));
        }
        Ok(c)
    }

    /// A client that must carry credentials.
    pub(super) fn auth_client(&mut self) -> R<Client> {
        let c = self.client()?;
        if c.auth_key().is_none() {
            return Err(CliError::usage(messages::AUTH_REQUIRED));
        }
        Ok(c)
    }

    pub(super) fn client_ns(&mut self, ns: &str) -> R<Client> {
        Ok(self.auth_client()?.with_namespace(ns))
    }

    pub(super) fn params_kv(&self) -> Vec<(String, Value)> {
        merge(&self.kv.params)
    }

    pub(super) fn annots_kv(&self) -> Vec<(String, Value)> {
        merge(&self.kv.annotations)
    }
}
