//! The rope family's modules.

use crate::ModuleSpec;

/// Every module of the family.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    Vec::new()
}
