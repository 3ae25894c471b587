use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::*;

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

fn sans_of(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject_alternative_name()
        .unwrap()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .map(|n| match n {
                    GeneralName::DNSName(d) => (*d).to_owned(),
                    GeneralName::IPAddress(b) if b.len() == 4 => {
                        std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).unwrap()).to_string()
                    }
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn agent(name: &str, sans: &[&str]) -> Holder {
    Holder::Agent {
        name: name.parse().unwrap(),
        sans: sans.iter().map(|s| s.parse().unwrap()).collect(),
    }
}

fn console(name: &str) -> Holder {
    Holder::Console {
        name: name.parse().unwrap(),
    }
}

#[test]
fn the_ca_may_sign_leaves_only() {
    let ca = init_ca(Validity::days_from_now(CA_DAYS)).unwrap();
    let der = der(ca.cert_pem());
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    assert!(cert.is_ca());
    assert_eq!(cert.subject().to_string(), "CN=fleetdeck CA");
    let bc = cert.basic_constraints().unwrap().unwrap().value;
    assert_eq!(bc.path_len_constraint, Some(0));
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign());
    let days =
        (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp()) / 86_400;
    assert_eq!(
        days,
        i64::from(CA_DAYS),
        "ten years, plus the hour it is backdated"
    );
}

#[test]
fn agent_certificates_are_for_servers_at_their_addresses() {
    let ca = init_ca(Validity::days_from_now(CA_DAYS)).unwrap();
    let issued = ca
        .issue(
            &agent("node-1", &["10.0.0.11", "node-1.example.com"]),
            Validity::days_from_now(LEAF_DAYS),
        )
        .unwrap();
    let der = der(&issued.cert_pem);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(cert.subject().to_string(), "CN=node-1");
    assert_eq!(cert.issuer().to_string(), "CN=fleetdeck CA");
    assert_eq!(cert.raw_serial(), issued.serial.as_slice());
    assert_eq!(issued.serial.len(), SERIAL_BYTES);
    let other = ca
        .issue(&agent("node-1", &["10.0.0.11"]), Validity::days_from_now(1))
        .unwrap();
    assert_ne!(other.serial, issued.serial, "serials are random");
    assert!(!cert.is_ca());
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.client_auth);
    assert_eq!(sans_of(&cert), ["10.0.0.11", "node-1.example.com"]);
    assert!(
        cert.extensions().iter().any(|e| matches!(
            e.parsed_extension(),
            ParsedExtension::AuthorityKeyIdentifier(_)
        )),
        "chains are found by key id"
    );
    KeyPair::from_pem(&issued.key_pem).unwrap();
}

#[test]
fn console_certificates_are_for_clients() {
    let ca = init_ca(Validity::days_from_now(CA_DAYS)).unwrap();
    let issued = ca
        .issue(&console("ops"), Validity::days_from_now(LEAF_DAYS))
        .unwrap();
    let der = der(&issued.cert_pem);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(cert.subject().to_string(), "CN=ops");
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    assert!(sans_of(&cert).is_empty());
}

#[test]
fn an_agent_certificate_needs_an_address() {
    let ca = init_ca(Validity::days_from_now(CA_DAYS)).unwrap();
    let err = ca
        .issue(&agent("node-1", &[]), Validity::days_from_now(1))
        .unwrap_err();
    assert!(err.to_string().contains("at least one --san"), "{err}");
}

#[test]
fn leaves_end_with_their_ca_and_dates_are_kept() {
    let ca = init_ca(Validity::days_from_now(10)).unwrap();
    let issued = ca
        .issue(&console("ops"), Validity::days_from_now(LEAF_DAYS))
        .unwrap();
    assert_eq!(issued.not_after, ca.not_after());
    let old = Validity {
        not_before: UNIX_EPOCH + Duration::from_secs(1_546_300_800), // 2019-01-01
        not_after: UNIX_EPOCH + Duration::from_secs(1_577_836_800),  // 2020-01-01
    };
    let expired = ca.issue(&console("old"), old).unwrap();
    let der = der(&expired.cert_pem);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(cert.validity().not_after.timestamp(), 1_577_836_800);
    assert!(!cert.validity().is_valid());
    let backwards = Validity {
        not_before: SystemTime::now(),
        not_after: SystemTime::now() - Duration::from_secs(1),
    };
    assert!(ca.issue(&console("x"), backwards).is_err());
}

#[test]
fn a_saved_ca_loads_back_and_signs_for_the_same_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let ca = init_ca(Validity::days_from_now(CA_DAYS)).unwrap();
    let written = ca.save(&pki, false).unwrap();
    assert_eq!(written.cert, pki.join(CA_CERT));
    let loaded = Ca::load(&pki).unwrap();
    assert_eq!(loaded.cert_pem(), ca.cert_pem());
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(secs(loaded.not_after()), secs(ca.not_after()));
    let issued = loaded
        .issue(&agent("n", &["127.0.0.1"]), Validity::days_from_now(1))
        .unwrap();
    let leaf_der = der(&issued.cert_pem);
    let ca_der = der(ca.cert_pem());
    let (_, leaf) = X509Certificate::from_der(&leaf_der).unwrap();
    let (_, root) = X509Certificate::from_der(&ca_der).unwrap();
    leaf.verify_signature(Some(root.public_key())).unwrap();
}

#[cfg(unix)]
#[test]
fn keys_are_owner_only_and_nothing_is_replaced_without_force() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let ca = init_ca(Validity::days_from_now(CA_DAYS)).unwrap();
    let written = ca.save(&dir.path().join("new"), false).unwrap();
    assert_eq!(mode(&written.key), 0o600);
    assert_eq!(
        mode(&dir.path().join("new")),
        0o700,
        "a folder it makes is private"
    );
    let written = ca.save(dir.path(), false).unwrap();

    let again = init_ca(Validity::days_from_now(CA_DAYS)).unwrap();
    let err = again.save(dir.path(), false).unwrap_err();
    assert!(
        matches!(&err, PkiError::Exists { path, .. } if path == &written.cert),
        "{err}"
    );
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(Ca::load(dir.path()).unwrap().cert_pem(), ca.cert_pem());

    std::fs::set_permissions(&written.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    again.save(dir.path(), true).unwrap();
    assert_eq!(Ca::load(dir.path()).unwrap().cert_pem(), again.cert_pem());
    assert_eq!(mode(&written.key), 0o600, "a replaced key is private again");
}

#[test]
fn a_missing_or_broken_ca_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = Ca::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            PkiError::NoCa {
                missing: CA_CERT,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("pki init --dir"), "{err}");

    let ca = init_ca(Validity::days_from_now(CA_DAYS)).unwrap();
    ca.save(dir.path(), false).unwrap();
    std::fs::remove_file(dir.path().join(CA_KEY)).unwrap();
    let err = Ca::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            PkiError::NoCa {
                missing: CA_KEY,
                ..
            }
        ),
        "{err}"
    );

    let other = init_ca(Validity::days_from_now(CA_DAYS)).unwrap();
    std::fs::write(dir.path().join(CA_KEY), other.issuer.key().serialize_pem()).unwrap();
    let err = Ca::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not the key of"), "{err}");

    let leaf = ca
        .issue(&console("ops"), Validity::days_from_now(1))
        .unwrap();
    std::fs::write(dir.path().join(CA_CERT), &leaf.cert_pem).unwrap();
    std::fs::write(dir.path().join(CA_KEY), &leaf.key_pem).unwrap();
    let err = Ca::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a CA certificate"), "{err}");

    std::fs::write(dir.path().join(CA_CERT), "junk").unwrap();
    let err = Ca::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a certificate in PEM"), "{err}");
}
