//! Exec on a sim node: the built-in shell ([`crate::exec::shell`]) over the container's
//! volume files, with an environment made from its spec.

use std::collections::BTreeMap;

use super::SimRuntime;
use crate::exec::shell::{self, ShellCtx};
use crate::exec::{ExecIo, ExecSpec};
use crate::runtime::{Runtime, RuntimeError};

impl SimRuntime {
    /// Starts the built-in shell running `spec` in container `id`, which must be running.
    pub(super) async fn exec_shell(
        &self,
        id: &str,
        spec: &ExecSpec,
    ) -> Result<ExecIo, RuntimeError> {
        let (name, env) = {
            let s = self.lock();
            let c = s.container(id)?;
            if !c.status.state.is_up() {
                return Err(RuntimeError::Conflict(format!(
                    "container {} is not running; start it first",
                    c.spec.name
                )));
            }
            let env: BTreeMap<String, String> = [
                ("HOSTNAME", c.spec.name.as_str()),
                ("IMAGE", c.spec.image.as_str()),
                ("SERVICE", c.spec.service.as_str()),
                ("PATH", "/bin"),
                ("HOME", "/"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            (c.spec.name.clone(), env)
        };
        // A node that keeps no data has an empty file system.
        let root = if self.config.data_dir.is_some() {
            Some(self.volume_dir(id).await?)
        } else {
            None
        };
        let ctx = ShellCtx {
            root,
            env,
            hostname: name,
        };
        let (io, input, output) = ExecIo::channel();
        tokio::spawn(shell::run(ctx, spec.clone(), input, output));
        Ok(io)
    }
}
