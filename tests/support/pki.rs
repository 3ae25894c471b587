//! Test certificates made at test time with rcgen (no private key is ever committed): a CA,
//! a server certificate for 127.0.0.1/localhost, client certificates (good, expired,
//! revoked) and a CRL revoking one of them. Everything is written as PEM into a folder.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer,
    KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber,
    date_time_ymd,
};

/// Paths of the PEM files.
pub struct Pki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// (cert, key) of a valid client `CN=ops-laptop`.
    pub client: (PathBuf, PathBuf),
    /// (cert, key) of a client whose certificate expired in 2020.
    pub expired: (PathBuf, PathBuf),
    /// (cert, key) of a client listed in `crl`.
    pub revoked: (PathBuf, PathBuf),
    /// (cert, key) signed by another CA.
    pub stranger: (PathBuf, PathBuf),
    pub crl: PathBuf,
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let pem = params.self_signed(&key).unwrap().pem();
    (params, key, pem)
}

fn leaf(
    dir: &Path,
    name: &str,
    issuer: &Issuer<'_, KeyPair>,
    serial: u64,
    edit: impl FnOnce(&mut CertificateParams),
) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.serial_number = Some(SerialNumber::from(serial));
    edit(&mut params);
    let cert = params.signed_by(&key, issuer).unwrap();
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}

impl Pki {
    /// Makes everything in `dir`.
    pub fn new(dir: &Path) -> Self {
        let (ca_params, ca_key, ca_pem) = ca("fleetdeck test CA");
        let ca_path = dir.join("ca.pem");
        std::fs::write(&ca_path, ca_pem).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let (server_cert, server_key) = leaf(dir, "agent", &issuer, 1, |_| {});
        let client = leaf(dir, "ops-laptop", &issuer, 2, |_| {});
        let expired = leaf(dir, "old-laptop", &issuer, 3, |p| {
            p.not_before = date_time_ymd(2019, 1, 1);
            p.not_after = date_time_ymd(2020, 1, 1);
        });
        let revoked = leaf(dir, "stolen-laptop", &issuer, 4, |_| {});
        let crl = CertificateRevocationListParams {
            this_update: date_time_ymd(2024, 1, 1),
            next_update: date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(4u64),
                revocation_time: date_time_ymd(2024, 1, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .unwrap();
        let crl_path = dir.join("crl.pem");
        std::fs::write(&crl_path, crl.pem().unwrap()).unwrap();
        let (other_params, other_key, _) = ca("someone else's CA");
        let other = Issuer::new(other_params, other_key);
        let stranger = leaf(dir, "stranger", &other, 5, |_| {});
        Self {
            ca: ca_path,
            server_cert,
            server_key,
            client,
            expired,
            revoked,
            stranger,
            crl: crl_path,
        }
    }
}
