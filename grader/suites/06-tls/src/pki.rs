//! A certificate authority of this run's own, and site certificates written
//! in Certbot's layout: `archive/<name>/fullchainN.pem` and `privkeyN.pem`,
//! with `live/<name>/fullchain.pem` and `privkey.pem` symlinks to the
//! newest (a renewal writes N+1 and switches the links, as Certbot does).
//! Clients trust this CA's root only; each site's chain is its certificate
//! and the intermediate that signed it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use rustls::pki_types::CertificateDer;

use harness::Failure;

/// One issued site certificate.
#[derive(Clone, Debug)]
pub struct Issued {
    pub name: String,
    /// The certificate's serial number, in hex, to name it in messages.
    pub serial: String,
    pub der: CertificateDer<'static>,
    /// Which renewal this is (1 for the first).
    pub version: u32,
}

pub struct Pki {
    pub root_der: CertificateDer<'static>,
    pub root_pem: String,
    intermediate: Issuer<'static, KeyPair>,
    intermediate_pem: String,
    /// Certbot's folder (`CERT_DIR`).
    pub dir: PathBuf,
    pub sites: HashMap<String, Issued>,
    /// Every certificate issued, renewals included.
    pub all: Vec<Issued>,
    rng: fastrand::Rng,
}

fn err(what: &str) -> impl Fn(rcgen::Error) -> Failure + '_ {
    move |e| Failure::new(format!("the suite could not make {what}: {e}"))
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure::new(format!("the suite could not write {}: {e}", what.display()))
}

impl Pki {
    /// A fresh root and intermediate, named and numbered from `rng`.
    pub fn new(dir: &Path, rng: &mut fastrand::Rng) -> Result<Pki, Failure> {
        let mut rng = rng.fork();
        let tag: String = (0..6).map(|_| rng.lowercase()).collect();
        let root_key = KeyPair::generate().map_err(err("a key"))?;
        let mut root = CertificateParams::new(Vec::<String>::new()).map_err(err("the root"))?;
        root.distinguished_name.push(DnType::CommonName, format!("Grade Test Root {tag}"));
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        root.serial_number = Some(SerialNumber::from(rng.u64(1..)));
        let root_cert = root.self_signed(&root_key).map_err(err("the root"))?;
        let root_issuer = Issuer::new(root, root_key);

        let inter_key = KeyPair::generate().map_err(err("a key"))?;
        let mut inter = CertificateParams::new(Vec::<String>::new()).map_err(err("the intermediate"))?;
        inter.distinguished_name.push(DnType::CommonName, format!("Grade Test Intermediate {tag}"));
        inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        inter.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        inter.serial_number = Some(SerialNumber::from(rng.u64(1..)));
        let inter_cert = inter.signed_by(&inter_key, &root_issuer).map_err(err("the intermediate"))?;
        let live = dir.join("live");
        std::fs::create_dir_all(&live).map_err(io(&live))?;
        // Certbot leaves a README in live/: a file, not a site.
        let readme = live.join("README");
        std::fs::write(&readme, "This directory contains your keys and certificates.\n").map_err(io(&readme))?;
        Ok(Pki {
            root_pem: root_cert.pem(),
            root_der: root_cert.der().clone(),
            intermediate: Issuer::new(inter, inter_key),
            intermediate_pem: inter_cert.pem(),
            dir: dir.to_path_buf(),
            sites: HashMap::new(),
            all: Vec::new(),
            rng,
        })
    }

    /// Issue (or renew) the certificate of `name`, with a new key and a new
    /// random serial, and point `live/<name>/` at it.
    pub fn issue(&mut self, name: &str) -> Result<Issued, Failure> {
        let key = KeyPair::generate().map_err(err("a key"))?;
        let mut params = CertificateParams::new(vec![name.to_string()]).map_err(err("a site certificate"))?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serial: Vec<u8> = {
            let mut s: Vec<u8> = (0..16).map(|_| self.rng.u8(..)).collect();
            s[0] = s[0].clamp(1, 0x7f); // positive and of full length
            s
        };
        let serial_hex: String = serial.iter().map(|b| format!("{b:02X}")).collect();
        params.serial_number = Some(SerialNumber::from(serial));
        let cert = params.signed_by(&key, &self.intermediate).map_err(err("a site certificate"))?;
        let version = self.sites.get(name).map_or(1, |s| s.version + 1);
        let archive = self.dir.join("archive").join(name);
        let live = self.dir.join("live").join(name);
        std::fs::create_dir_all(&archive).map_err(io(&archive))?;
        std::fs::create_dir_all(&live).map_err(io(&live))?;
        let files = [
            (format!("fullchain{version}.pem"), format!("{}{}", cert.pem(), self.intermediate_pem), "fullchain.pem"),
            (format!("privkey{version}.pem"), key.serialize_pem(), "privkey.pem"),
            (format!("cert{version}.pem"), cert.pem(), "cert.pem"),
            (format!("chain{version}.pem"), self.intermediate_pem.clone(), "chain.pem"),
        ];
        for (file, contents, link) in files {
            let path = archive.join(&file);
            std::fs::write(&path, contents).map_err(io(&path))?;
            // Switch the link atomically: a new link renamed over the old one.
            let tmp = live.join(format!(".{link}.new"));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(Path::new("../../archive").join(name).join(&file), &tmp).map_err(io(&tmp))?;
            let target = live.join(link);
            std::fs::rename(&tmp, &target).map_err(io(&target))?;
        }
        let issued = Issued { name: name.to_string(), serial: serial_hex, der: cert.der().clone(), version };
        self.sites.insert(name.to_string(), issued.clone());
        self.all.push(issued.clone());
        Ok(issued)
    }

    /// The root's PEM file, for curl and openssl.
    pub fn root_file(&self) -> PathBuf {
        self.dir.join("grade-test-root.pem")
    }

    pub fn write_root(&self) -> Result<PathBuf, Failure> {
        let path = self.root_file();
        std::fs::write(&path, &self.root_pem).map_err(io(&path))?;
        Ok(path)
    }

    /// Which issued certificate `der` is, in words.
    pub fn describe(&self, der: &[u8]) -> String {
        match self.all.iter().find(|s| s.der.as_ref() == der) {
            Some(s) => format!("the certificate of {} (serial {}, issue {} of this name)", s.name, s.serial, s.version),
            None => "a certificate this run did not issue".to_string(),
        }
    }

    pub fn roots(&self) -> Arc<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        let _ = roots.add(self.root_der.clone());
        Arc::new(roots)
    }
}
