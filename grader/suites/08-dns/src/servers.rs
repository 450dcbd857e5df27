//! Starting DNS servers the way the exercise contract says: HOST, PORT and
//! ZONE_FILE in the environment, `listening on dns://ADDR` on stdout, UDP
//! and TCP on that one port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::process::{free_port, Proc, Spawn};
use harness::{Ctx, Failure};

/// A zone file written for one check (removed with it).
pub struct ZoneFile {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn write_zone(text: &str) -> Result<ZoneFile, Failure> {
    let io = |e: std::io::Error| Failure::new(format!("could not write the zone file: {e}"));
    let dir = tempfile::Builder::new().prefix("grade-dns-").tempdir().map_err(io)?;
    let path = dir.path().join("zone.txt");
    std::fs::write(&path, text).map_err(io)?;
    Ok(ZoneFile { _dir: dir, path })
}

/// A running server and where it listens.
pub struct Dns {
    pub proc: Proc,
    pub addr: SocketAddr,
}

/// Start `bin` serving the zone at `zone`, on a free port of 127.0.0.1.
pub async fn start(cx: &Ctx, bin: &Path, zone: &Path) -> Result<Dns, Failure> {
    let port = free_port()?;
    let spec = Spawn::default()
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("ZONE_FILE", zone.to_string_lossy().into_owned());
    let mut proc = Proc::start(cx, bin, &spec)?;
    let addr = proc.wait_listening_on("dns", Duration::from_secs(10)).await?;
    if addr.port() != port {
        return Err(Failure::new(format!(
            "PORT was {port} but the server printed `listening on dns://{addr}`: bind the port named by the PORT environment variable"
        ))
        .with_output(proc.output()));
    }
    harness::http::wait_accepting(addr, Duration::from_secs(5)).await.map_err(|e| {
        Failure::new(format!(
            "printed `listening on dns://{addr}` but TCP {e}: DNS answers over TCP on the same port as UDP"
        ))
        .with_output(proc.output())
    })?;
    Ok(Dns { proc, addr })
}
