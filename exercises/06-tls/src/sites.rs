//! Certbot's layout and the choice of a certificate: YOUR PART of this
//! exercise, with `tls.rs`, `port80.rs`, `forward.rs` and `reload.rs`.
//!
//! Certbot keeps one folder per certificate ("lineage") under
//! `/etc/letsencrypt/live/`, named after its first domain, each holding
//! `fullchain.pem` (the site's certificate, then the intermediate
//! certificates up to, not including, the root) and `privkey.pem` (the
//! site's private key). Those are symlinks into `archive/`, switched to the
//! new files at each renewal.

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// One site: its folder's name and what the handshake presents for it.
#[derive(Debug)]
pub struct Site {
    pub name: String,
    pub key: Arc<CertifiedKey>,
}

/// Every site, sorted by name, and which one is the default.
#[derive(Debug)]
pub struct Sites {
    sites: Vec<Site>,
    default: usize,
}

impl Sites {
    pub fn names(&self) -> Vec<String> {
        self.sites.iter().map(|s| s.name.clone()).collect()
    }

    pub fn default_name(&self) -> &str {
        &self.sites[self.default].name
    }

    /// The site whose certificate answers a ClientHello that named `sni`
    /// (or nothing): the site of that name, compared without regard to
    /// case, or else the default site.
    pub fn choose(&self, sni: Option<&str>) -> &Site {
        todo!("choose: the site the SNI names, else the default site (docs/src/06-tls.md, \"SNI: which certificate\")")
    }
}

/// Read `live/<name>/fullchain.pem` and `live/<name>/privkey.pem`, and
/// check that the key belongs to the certificate. Every error names the
/// file it is about.
pub fn load_site(live: &Path, name: &str) -> Result<Arc<CertifiedKey>, String> {
    todo!("load_site: read fullchain.pem and privkey.pem, errors name the file (docs/src/06-tls.md, \"Certbot's layout\")")
}

fn pem_error(file: &Path, what: &str, e: pem::Error) -> String {
    match e {
        pem::Error::Io(io) => format!("cannot read {}: {io}", file.display()),
        pem::Error::NoItemsFound => format!("{}: no {what} in it (a PEM block `-----BEGIN ...-----`)", file.display()),
        other => format!("{}: not a valid PEM file ({other})", file.display()),
    }
}

/// Every folder under `CERT_DIR/live/` is a site (Certbot also puts a
/// README file there). Given: the lesson is in `load_site` and `choose`.
pub fn load_all(cert_dir: &Path, default: Option<&str>) -> Result<Sites, String> {
    let live = cert_dir.join("live");
    let entries = std::fs::read_dir(&live).map_err(|e| {
        format!("cannot read {}: {e} (CERT_DIR must be Certbot's folder, the one that holds live/)", live.display())
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", live.display()))?;
        if entry.path().is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(format!("no site in {}: expected live/<name>/fullchain.pem and privkey.pem", live.display()));
    }
    let mut sites = Vec::new();
    for name in names {
        let key = load_site(&live, &name)?;
        sites.push(Site { name, key });
    }
    let default = match default {
        None => 0,
        Some(wanted) => sites.iter().position(|s| s.name.eq_ignore_ascii_case(wanted)).ok_or_else(|| {
            let names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
            format!("DEFAULT_SITE={wanted:?} names no folder in {} (sites: {})", live.display(), names.join(", "))
        })?,
    };
    Ok(Sites { sites, default })
}

/// The sites in use now; a reload replaces them while handshakes go on.
#[derive(Clone, Debug)]
pub struct Current(Arc<RwLock<Arc<Sites>>>);

impl Current {
    pub fn new(sites: Sites) -> Current {
        Current(Arc::new(RwLock::new(Arc::new(sites))))
    }

    pub fn get(&self) -> Arc<Sites> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, sites: Sites) {
        match self.0.write() {
            Ok(mut guard) => *guard = Arc::new(sites),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(sites),
        }
    }
}
