//! The fleet's certificates, made with rcgen: a CA, a server certificate per agent
//! (serverAuth, the addresses consoles dial) and a client certificate per console
//! (clientAuth, for mutual TLS). `fleetdeck-agent pki` and the tests make every
//! certificate through here.
//!
//! Keys are ECDSA P-256. Key files are owner-only from the moment they exist
//! (`fleetdeck_core::private`); certificates are ordinary files. Nothing is written over an
//! existing file unless asked to.

pub mod cli;
mod names;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::TryRngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::private;
pub use names::{Name, San};

/// File stem of the CA's certificate and key.
const CA_STEM: &str = "ca";
/// The CA's certificate in a pki folder.
pub const CA_CERT: &str = "ca.pem";
/// The CA's key in a pki folder.
pub const CA_KEY: &str = "ca.key";
/// Days a CA is valid by default.
pub const CA_DAYS: u32 = 3650;
/// Days an agent's or a console's certificate is valid by default.
pub const LEAF_DAYS: u32 = 730;
/// Certificates start this long before they are made, so a peer whose clock is a little
/// behind accepts them at once.
const BACKDATE: Duration = Duration::from_secs(3600);
const SECS_PER_DAY: u64 = 86_400;
/// Random bytes in a serial number (RFC 5280 allows up to 20).
const SERIAL_BYTES: usize = 16;
/// Common name of a CA `pki init` makes.
const CA_COMMON_NAME: &str = "fleetdeck CA";

/// Why a certificate could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file to be written exists and replacing it was not asked for.
    #[error("{} exists; pass --force to replace it{hint}", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
        /// What replacing it means, when that is more than losing the file.
        hint: &'static str,
    },
    /// The folder holds no CA.
    #[error(
        "no CA in {}: {missing} is missing; make one with `fleetdeck-agent pki init --dir {}`",
        dir.display(),
        dir.display()
    )]
    NoCa {
        /// The pki folder.
        dir: PathBuf,
        /// The file that is not there.
        missing: &'static str,
    },
    /// The CA's files are there but unusable.
    #[error("{}: {message}", path.display())]
    BadCa {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {}: {error}", path.display())]
    Io {
        /// `read`, `write` or `create`.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        error: io::Error,
    },
    /// What was asked for cannot be made: an agent's certificate without an address, a
    /// period that ends before it starts.
    #[error("{0}")]
    Request(String),
    /// The system's random source failed.
    #[error("cannot draw a random serial number: {0}")]
    Random(String),
    /// rcgen refused to make the certificate.
    #[error("cannot make the certificate: {0}")]
    Make(#[from] rcgen::Error),
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// Not valid before.
    pub not_before: SystemTime,
    /// Not valid after.
    pub not_after: SystemTime,
}

impl Validity {
    /// From a little before now for `days` days.
    pub fn days_from_now(days: u32) -> Self {
        let now = SystemTime::now();
        Self {
            not_before: now.checked_sub(BACKDATE).unwrap_or(now),
            not_after: now + Duration::from_secs(u64::from(days) * SECS_PER_DAY),
        }
    }

    fn apply(&self, params: &mut CertificateParams) -> Result<(), PkiError> {
        let since_epoch = |t: SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map_err(|_| PkiError::Request("a certificate cannot start before 1970".into()))
        };
        if self.not_after <= self.not_before {
            return Err(PkiError::Request(
                "a certificate must end after it starts".into(),
            ));
        }
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = epoch + since_epoch(self.not_before)?;
        params.not_after = epoch + since_epoch(self.not_after)?;
        Ok(())
    }
}

/// Who a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// An agent: a server certificate for the addresses consoles dial.
    Agent {
        /// Its name (the certificate's common name).
        name: Name,
        /// What consoles dial; at least one.
        sans: Vec<San>,
    },
    /// A console: a client certificate, its common name the caller's identity on agents.
    Console {
        /// Its name.
        name: Name,
    },
}

impl Holder {
    /// The holder's name.
    pub fn name(&self) -> &Name {
        match self {
            Self::Agent { name, .. } | Self::Console { name } => name,
        }
    }

    fn params(&self) -> Result<CertificateParams, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, self.name().as_str());
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        match self {
            Self::Agent { sans, .. } => {
                if sans.is_empty() {
                    return Err(PkiError::Request(
                        "an agent's certificate needs at least one --san: the address or name \
                         consoles dial"
                            .into(),
                    ));
                }
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                params.subject_alt_names = sans
                    .iter()
                    .map(|san| match san {
                        San::Ip(ip) => Ok(SanType::IpAddress(*ip)),
                        San::Dns(name) => Ok(SanType::DnsName(name.as_str().try_into()?)),
                    })
                    .collect::<Result<_, rcgen::Error>>()?;
            }
            Self::Console { .. } => {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            }
        }
        Ok(params)
    }
}

/// A certificate and its key, as PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
    /// When it ends (a leaf's end is cut to its CA's).
    pub not_after: SystemTime,
    /// Its serial number, big-endian (what a revocation list names).
    pub serial: Vec<u8>,
}

/// Paths a certificate and its key were written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The certificate.
    pub cert: PathBuf,
    /// The key (owner-only).
    pub key: PathBuf,
}

impl Issued {
    /// Writes `NAME.pem` and `NAME.key` into `dir` (which must exist); refuses to replace
    /// either unless `force`.
    pub fn save(&self, dir: &Path, stem: &str, force: bool) -> Result<Written, PkiError> {
        save_pair(dir, stem, self, force, "")
    }
}

/// A CA that can sign: its certificate and its key.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    not_after: SystemTime,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// A new CA named `common_name`: may sign leaf certificates only (path length 0).
    pub fn create(common_name: &str, validity: Validity) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity.apply(&mut params)?;
        params.serial_number = Some(random_serial()?);
        let cert_pem = params.self_signed(&key)?.pem();
        Ok(Self {
            issuer: Issuer::new(params, key),
            cert_pem,
            not_after: validity.not_after,
        })
    }

    /// The CA in `dir` (`ca.pem`, `ca.key`), checked to be a CA whose key matches.
    pub fn load(dir: &Path) -> Result<Self, PkiError> {
        let (cert_path, key_path) = (dir.join(CA_CERT), dir.join(CA_KEY));
        for (path, name) in [(&cert_path, CA_CERT), (&key_path, CA_KEY)] {
            if !path.exists() {
                return Err(PkiError::NoCa {
                    dir: dir.to_owned(),
                    missing: name,
                });
            }
        }
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|error| PkiError::Io {
                action: "read",
                path: path.to_owned(),
                error,
            })
        };
        let (cert_pem, key_pem) = (read(&cert_path)?, read(&key_path)?);
        let bad = |path: &Path, message: String| PkiError::BadCa {
            path: path.to_owned(),
            message,
        };
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| bad(&key_path, format!("not a private key in PEM: {e}")))?;
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| bad(&cert_path, format!("not a certificate in PEM: {e}")))?;
        let (_, x509) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| bad(&cert_path, format!("not an X.509 certificate: {e}")))?;
        if !x509.is_ca() {
            return Err(bad(&cert_path, "not a CA certificate".into()));
        }
        if x509.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(bad(
                &key_path,
                format!("not the key of {}", cert_path.display()),
            ));
        }
        let not_after = u64::try_from(x509.validity().not_after.timestamp())
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
            .map_err(|_| bad(&cert_path, "ends before 1970".into()))?;
        let issuer = Issuer::from_ca_cert_der(&der, key)
            .map_err(|e| bad(&cert_path, format!("cannot sign with it: {e}")))?;
        Ok(Self {
            issuer,
            cert_pem,
            not_after,
        })
    }

    /// Writes `ca.pem` and `ca.key` into `dir`, creating it owner-only; refuses to replace
    /// either unless `force`.
    pub fn save(&self, dir: &Path, force: bool) -> Result<Written, PkiError> {
        private::create_dir(dir).map_err(|error| PkiError::Io {
            action: "create",
            path: dir.to_owned(),
            error,
        })?;
        let issued = Issued {
            cert_pem: self.cert_pem.clone(),
            key_pem: self.issuer.key().serialize_pem(),
            not_after: self.not_after,
            serial: Vec::new(),
        };
        save_pair(
            dir,
            CA_STEM,
            &issued,
            force,
            " (certificates it signed stop being trusted where the new CA replaces it)",
        )
    }

    /// The CA's certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// When the CA ends.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// A new key and a certificate for `holder` signed by this CA, valid for `validity`
    /// but never beyond the CA itself.
    pub fn issue(&self, holder: &Holder, validity: Validity) -> Result<Issued, PkiError> {
        let validity = Validity {
            not_after: validity.not_after.min(self.not_after),
            ..validity
        };
        let mut params = holder.params()?;
        validity.apply(&mut params)?;
        let serial = random_serial()?;
        params.serial_number = Some(serial.clone());
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            not_after: validity.not_after,
            serial: serial.to_bytes(),
        })
    }
}

/// A positive random serial number of full length.
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; SERIAL_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| PkiError::Random(e.to_string()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Makes a CA for `pki init`.
pub fn init_ca(validity: Validity) -> Result<Ca, PkiError> {
    Ca::create(CA_COMMON_NAME, validity)
}

/// Writes `<stem>.pem` and `<stem>.key`: both refused first if either exists (unless
/// `force`), then the key (owner-only) and the certificate.
fn save_pair(
    dir: &Path,
    stem: &str,
    issued: &Issued,
    force: bool,
    hint: &'static str,
) -> Result<Written, PkiError> {
    let written = Written {
        cert: dir.join(format!("{stem}.pem")),
        key: dir.join(format!("{stem}.key")),
    };
    if !force {
        for path in [&written.cert, &written.key] {
            if path.exists() {
                return Err(PkiError::Exists {
                    path: path.clone(),
                    hint,
                });
            }
        }
    }
    write_key(&written.key, issued.key_pem.as_bytes(), force)?;
    write_cert(&written.cert, issued.cert_pem.as_bytes(), force)?;
    Ok(written)
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> PkiError + '_ {
    move |error| {
        if error.kind() == io::ErrorKind::AlreadyExists {
            PkiError::Exists {
                path: path.to_owned(),
                hint: "",
            }
        } else {
            PkiError::Io {
                action: "write",
                path: path.to_owned(),
                error,
            }
        }
    }
}

/// A key: owner-only from its creation; with `force`, a new private file renamed over
/// the old one, so even a key that was readable by others is replaced by a private one.
fn write_key(path: &Path, pem: &[u8], force: bool) -> Result<(), PkiError> {
    if force {
        return private::write_atomic(path, pem).map_err(write_error(path));
    }
    private::options()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(pem).and_then(|()| f.sync_all()))
        .map_err(write_error(path))
}

/// A certificate: public, so an ordinary file.
fn write_cert(path: &Path, pem: &[u8], force: bool) -> Result<(), PkiError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(!force)
        .create(force)
        .truncate(force)
        .open(path)
        .and_then(|mut f| f.write_all(pem).and_then(|()| f.sync_all()))
        .map_err(write_error(path))
}

#[cfg(test)]
mod tests;
