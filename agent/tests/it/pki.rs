//! `fleetdeck-agent pki init|issue` through the real binary: what it writes and prints, and
//! each refusal in one line with nothing written.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use x509_parser::prelude::{FromDer, X509Certificate};

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck-agent");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    assert!(stderr.is_empty(), "{args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// The refusal's one line, checked to be alone, prefixed, and to leave stdout empty.
fn refused(args: &[&str]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "{args:?} should be refused");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line, got: {err}");
    assert!(err.starts_with("fleetdeck-agent: "), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn cert(path: &Path) -> Vec<u8> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    CertificateDer::from_pem_file(path).unwrap().to_vec()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_then_issue_for_an_agent_and_a_console() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    let d = dir.to_str().unwrap();

    let out = ok(&["pki", "init", "--dir", d]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with(&format!("wrote {d}/ca.pem")), "{out}");
    assert!(lines[1].starts_with(&format!("wrote {d}/ca.key")), "{out}");
    assert_eq!(
        lines[2],
        format!("next: fleetdeck-agent pki issue --dir {d} --agent NAME --san ADDRESS")
    );
    assert_eq!(names(&dir), ["ca.key", "ca.pem"]);
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir.join("ca.key")), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }

    let out = ok(&[
        "pki",
        "issue",
        "--dir",
        d,
        "--agent",
        "web-1",
        "--san",
        "10.0.0.11",
        "web-1.internal",
    ]);
    assert!(
        out.contains("agent certificate CN=web-1 for 10.0.0.11, web-1.internal, valid until"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "next: fleetdeck-agent --listen 10.0.0.11:7400 --tls-cert {d}/web-1.pem --tls-key \
             {d}/web-1.key --client-ca {d}/ca.pem"
        )),
        "{out}"
    );
    let der = cert(&dir.join("web-1.pem"));
    let (_, x509) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(x509.subject().to_string(), "CN=web-1");
    assert!(
        x509.extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .server_auth
    );
    let ca_der = cert(&dir.join("ca.pem"));
    let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
    x509.verify_signature(Some(ca.public_key())).unwrap();

    let out = ok(&["pki", "issue", "--dir", d, "--console", "ops"]);
    assert!(
        out.contains("console certificate CN=ops, valid until"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "next: in the console's config.toml: ca = \"{d}/ca.pem\", client_cert = \
             \"{d}/ops.pem\", client_key = \"{d}/ops.key\""
        )),
        "{out}"
    );
    let der = cert(&dir.join("ops.pem"));
    let (_, x509) = X509Certificate::from_der(&der).unwrap();
    assert!(
        x509.extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .client_auth
    );
    assert_eq!(
        names(&dir),
        [
            "ca.key",
            "ca.pem",
            "ops.key",
            "ops.pem",
            "web-1.key",
            "web-1.pem"
        ]
    );
    #[cfg(unix)]
    for key in ["web-1.key", "ops.key"] {
        assert_eq!(mode(&dir.join(key)), 0o600, "{key}");
    }
}

#[test]
fn existing_files_are_kept_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    ok(&["pki", "init", "--dir", d]);
    let ca = std::fs::read(tmp.path().join("ca.pem")).unwrap();
    let err = refused(&["pki", "init", "--dir", d]);
    assert!(
        err.contains(&format!("{d}/ca.pem exists; pass --force to replace it")),
        "{err}"
    );
    assert_eq!(std::fs::read(tmp.path().join("ca.pem")).unwrap(), ca);

    ok(&["pki", "issue", "--dir", d, "--console", "ops"]);
    let ops = std::fs::read(tmp.path().join("ops.pem")).unwrap();
    let err = refused(&["pki", "issue", "--dir", d, "--agent", "ops", "--san", "::1"]);
    assert!(err.contains("ops.pem exists; pass --force"), "{err}");
    assert_eq!(std::fs::read(tmp.path().join("ops.pem")).unwrap(), ops);

    // Only the key left behind is enough to refuse: a pair is never half replaced.
    std::fs::remove_file(tmp.path().join("ops.pem")).unwrap();
    let err = refused(&["pki", "issue", "--dir", d, "--console", "ops"]);
    assert!(err.contains("ops.key exists"), "{err}");
    assert!(!tmp.path().join("ops.pem").exists());

    ok(&["pki", "issue", "--dir", d, "--console", "ops", "--force"]);
    ok(&["pki", "init", "--dir", d, "--force"]);
    assert_ne!(std::fs::read(tmp.path().join("ca.pem")).unwrap(), ca);
}

#[test]
fn a_missing_ca_a_bad_san_and_a_bad_name_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let err = refused(&["pki", "issue", "--dir", d, "--console", "ops"]);
    assert!(
        err.contains(&format!(
            "no CA in {d}: ca.pem is missing; make one with `fleetdeck-agent pki init --dir {d}`"
        )),
        "{err}"
    );
    ok(&["pki", "init", "--dir", d]);
    for bad in [
        "10.0.0.300",
        "web_1.internal",
        "http://web-1",
        "10.0.0.11:7400",
    ] {
        let err = refused(&["pki", "issue", "--dir", d, "--agent", "web-1", "--san", bad]);
        assert!(
            err.contains("neither an IP address nor a DNS name") && err.contains(bad),
            "{bad}: {err}"
        );
    }
    for bad in ["../web-1", "web 1", "ca", ".hidden"] {
        let err = refused(&["pki", "issue", "--dir", d, "--console", bad]);
        assert!(err.contains(bad), "{bad}: {err}");
    }
    let err = refused(&["pki", "issue", "--dir", d, "--agent", "web-1"]);
    assert!(err.contains("--san"), "{err}");
    let err = refused(&["pki", "issue", "--dir", d]);
    assert!(
        err.contains("--agent") && err.contains("--console"),
        "{err}"
    );
    let err = refused(&[
        "pki",
        "issue",
        "--dir",
        d,
        "--console",
        "ops",
        "--san",
        "10.0.0.1",
    ]);
    assert!(err.contains("--san") && err.contains("--console"), "{err}");
    assert_eq!(
        names(tmp.path()),
        ["ca.key", "ca.pem"],
        "nothing was written"
    );
}
