//! Test certificates made at test time (no private key is ever committed), through the
//! agent's own `pki` module, the one place fleetdeck makes certificates: a CA, an agent
//! certificate for 127.0.0.1/localhost, console certificates (good, expired, revoked, and
//! one from another CA). The CRL revoking one of them, which `pki` does not make, is
//! signed here with rcgen by the same CA. Everything is written as PEM into a folder.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use fleetdeck_agent::pki::{Ca, Holder, Validity};
use rcgen::{
    CertificateParams, CertificateRevocationListParams, DnType, ExtendedKeyUsagePurpose, Issuer,
    KeyIdMethod, KeyPair, RevocationReason, RevokedCertParams, SanType, SerialNumber,
    date_time_ymd,
};

/// Paths of the PEM files.
pub struct Pki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// (cert, key) for 127.0.0.1/localhost good as a server's and a client's (etcd with
    /// `--client-cert-auth` dials its own JSON gateway with its server certificate).
    pub dual: (PathBuf, PathBuf),
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

fn console(name: &str) -> Holder {
    Holder::Console {
        name: name.parse().unwrap(),
    }
}

/// Writes `holder`'s certificate and key into `dir`; returns their paths and its serial.
fn issue_with_serial(
    dir: &Path,
    ca: &Ca,
    holder: &Holder,
    validity: Validity,
) -> ((PathBuf, PathBuf), Vec<u8>) {
    let issued = ca.issue(holder, validity).unwrap();
    let written = issued.save(dir, holder.name().as_str(), false).unwrap();
    ((written.cert, written.key), issued.serial)
}

fn issue(dir: &Path, ca: &Ca, holder: &Holder, validity: Validity) -> (PathBuf, PathBuf) {
    issue_with_serial(dir, ca, holder, validity).0
}

/// 2019-01-01 to 2020-01-01.
fn long_ago() -> Validity {
    Validity {
        not_before: UNIX_EPOCH + Duration::from_secs(1_546_300_800),
        not_after: UNIX_EPOCH + Duration::from_secs(1_577_836_800),
    }
}

impl Pki {
    /// Makes everything in `dir`.
    pub fn new(dir: &Path) -> Self {
        let year = || Validity::days_from_now(365);
        let ca = Ca::create("fleetdeck test CA", year()).unwrap();
        let ca_files = ca.save(dir, false).unwrap();
        let agent = Holder::Agent {
            name: "agent".parse().unwrap(),
            sans: vec!["localhost".parse().unwrap(), "127.0.0.1".parse().unwrap()],
        };
        let (server_cert, server_key) = issue(dir, &ca, &agent, year());
        let client = issue(dir, &ca, &console("ops-laptop"), year());
        let expired = issue(dir, &ca, &console("old-laptop"), long_ago());
        let (revoked, serial) = issue_with_serial(dir, &ca, &console("stolen-laptop"), year());
        let crl_path = dir.join("crl.pem");
        std::fs::write(&crl_path, revocation_list(&ca_files.key, &ca, &serial)).unwrap();
        let dual = dual_use(dir, &ca_files.key, &ca);
        let other = Ca::create("someone else's CA", year()).unwrap();
        let stranger = issue(dir, &other, &console("stranger"), year());
        Self {
            ca: ca_files.cert,
            server_cert,
            server_key,
            dual,
            client,
            expired,
            revoked,
            stranger,
            crl: crl_path,
        }
    }
}

/// A certificate for 127.0.0.1 and localhost by `ca`, for serverAuth and clientAuth, which
/// `pki` does not issue (an agent's is a server's only); written as `dual.pem` and
/// `dual-key.pem`.
fn dual_use(dir: &Path, ca_key: &Path, ca: &Ca) -> (PathBuf, PathBuf) {
    let key = KeyPair::from_pem(&std::fs::read_to_string(ca_key).unwrap()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(ca.cert_pem(), key).unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    params.distinguished_name.push(DnType::CommonName, "etcd");
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    let own = KeyPair::generate().unwrap();
    let cert = params.signed_by(&own, &issuer).unwrap();
    let (cert_path, key_path) = (dir.join("dual.pem"), dir.join("dual-key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, own.serialize_pem()).unwrap();
    (cert_path, key_path)
}

/// A v2 CRL (number and authority key id) by `ca` revoking serial number `revoked`.
fn revocation_list(ca_key: &Path, ca: &Ca, revoked: &[u8]) -> String {
    let key = KeyPair::from_pem(&std::fs::read_to_string(ca_key).unwrap()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(ca.cert_pem(), key).unwrap();
    CertificateRevocationListParams {
        this_update: date_time_ymd(2024, 1, 1),
        next_update: date_time_ymd(2099, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(revoked),
            revocation_time: date_time_ymd(2024, 1, 1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap()
    .pem()
    .unwrap()
}
