//! Start, stop or restart one container where it runs.

use super::{NodeRef, Plan, PlanError, PlanInput, Proposal, Step, Verb, capitalise};

/// `verb` the container named `container` on `node` (anywhere when `node` is empty).
pub(super) fn plan(
    input: &PlanInput<'_>,
    node: &str,
    container: &str,
    verb: Verb,
) -> Result<Plan, PlanError> {
    let (n, c) = input.container(node, container)?;
    let on = NodeRef::of(n);
    let line = format!(
        "{} {} on {} (now {})",
        verb.as_str(),
        c.spec.name,
        on.name,
        c.spec.state.as_str()
    );
    Ok(Plan {
        proposal: Proposal::Container {
            node: node.to_string(),
            container: container.to_string(),
            verb,
        },
        title: format!("{} {}", capitalise(verb.as_str()), c.spec.name),
        lines: vec![line],
        data_bytes: 0,
        confirm: None,
        steps: vec![Step::Verb {
            on,
            container_id: c.spec.id.clone(),
            name: c.spec.name.clone(),
            verb,
        }],
    })
}
