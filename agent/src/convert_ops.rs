//! Wire mappings for the operations added on top of container and node verbs: portable
//! specs, backups, create/backup/restore/note actions. Pure.

use fleetdeck_proto as pb;

use crate::backup::BackupRecord;
use crate::model::{ActError, ActErrorKind, Action, PortableSpec};

fn invalid(m: &str) -> ActError {
    ActError::new(ActErrorKind::Invalid, m)
}

/// Portable spec to the wire.
pub fn spec(s: &PortableSpec) -> pb::PortableSpec {
    s.to_proto()
}

/// Wire spec to the plain one (state and health are not taken: they are the source's).
pub fn spec_from(s: pb::PortableSpec) -> PortableSpec {
    PortableSpec::from_proto(s)
}

/// A volume or container name a node can use as a directory name.
fn plain_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 128
        && !n.starts_with('.')
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads a create action.
pub fn create_action(c: &pb::CreateAction) -> Result<Action, ActError> {
    let Some(s) = c.spec.clone() else {
        return Err(invalid("create action carries no spec"));
    };
    let spec = spec_from(s);
    if !plain_name(&spec.name) {
        return Err(invalid(
            "container name must be 1-128 letters, digits, `-`, `_` or `.`",
        ));
    }
    if spec.image.trim().is_empty() {
        return Err(invalid("spec names no image"));
    }
    // A mount below the top level (`/etc/app`) is named with `~` between its parts.
    if let Some(v) = spec
        .volumes
        .iter()
        .find(|v| v.len() > 255 || !v.split('~').all(plain_name))
    {
        return Err(invalid(&format!(
            "volume name `{v}` is not a plain name (letters, digits, `-`, `_`, `.`, and `~` between the parts of a nested mount path)"
        )));
    }
    Ok(Action::Create {
        spec: Box::new(spec),
        labels: c.labels.clone().into_iter().collect(),
    })
}

/// Reads a backup action.
pub fn backup_action(b: &pb::BackupAction) -> Result<Action, ActError> {
    if b.container.trim().is_empty() {
        return Err(invalid("backup action names no container"));
    }
    Ok(Action::Backup {
        target: b.container.trim().to_owned(),
        keep_count: b.keep_count,
        keep_secs: b.keep_secs,
    })
}

/// Reads a restore action.
pub fn restore_action(r: &pb::RestoreAction) -> Result<Action, ActError> {
    if r.backup_id.trim().is_empty() {
        return Err(invalid("restore action names no backup"));
    }
    Ok(Action::Restore {
        backup_id: r.backup_id.trim().to_owned(),
        overwrite: r.overwrite,
    })
}

/// Reads a note action.
pub fn note_action(n: &pb::NoteAction) -> Result<Action, ActError> {
    if n.kind.trim().is_empty() {
        return Err(invalid("note names no kind"));
    }
    Ok(Action::Note {
        kind: n.kind.trim().to_owned(),
        target: n.target.clone(),
        message: n.message.clone(),
    })
}

/// A backup record to the wire.
pub fn backup(r: &BackupRecord) -> pb::BackupInfo {
    pb::BackupInfo {
        id: r.id.clone(),
        container: r.container.clone(),
        container_id: r.container_id.clone(),
        service: r.service.clone(),
        created_unix_ms: r.created_unix_ms,
        size_bytes: r.size_bytes,
        sha256: r.sha256.clone(),
        node_id: r.node_id.clone(),
        copied_from: r.copied_from.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(volumes: &[&str]) -> Result<Action, ActError> {
        create_action(&pb::CreateAction {
            spec: Some(pb::PortableSpec {
                name: "web".into(),
                image: "img".into(),
                volumes: volumes.iter().map(|v| (*v).to_owned()).collect(),
                ..pb::PortableSpec::default()
            }),
            labels: Default::default(),
        })
    }

    #[test]
    fn nested_mount_paths_are_volume_names_and_escapes_are_not() {
        assert!(create(&["data", "etc~app", "var~lib~db"]).is_ok());
        for bad in ["etc~..~x", "etc~~x", "~etc", "..", "a/b", ".hidden"] {
            assert!(create(&[bad]).is_err(), "{bad}");
        }
    }
}
