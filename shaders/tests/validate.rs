//! Every module of every variant parses and validates with naga, and translates to SPIR-V 1.3 —
//! no device needed.

#[test]
fn every_module_validates() {
    let modules = edgehal_shaders::modules();
    assert!(!modules.is_empty());
    let mut failures = Vec::new();
    for m in &modules {
        if let Err(e) = edgehal_shaders::validate(m) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{} of {} modules fail:\n{}", failures.len(), modules.len(), failures.join("\n"));
}

#[test]
fn module_names_are_unique() {
    let mut names: Vec<String> = edgehal_shaders::modules().into_iter().map(|m| m.name).collect();
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n, "duplicate module names");
}

#[test]
fn a_base_module_using_f16_is_rejected() {
    let bad = edgehal_shaders::ModuleSpec::new(
        "bad",
        None,
        edgehal_shaders::Variant::Base,
        vec!["@compute @workgroup_size(1) fn main() { let h: f16 = 1.0h; }"],
    );
    assert!(edgehal_shaders::validate(&bad).is_err());
}

#[test]
fn bindings_follow_the_convention() {
    use edgehal_shaders::BindingKind;
    for m in edgehal_shaders::modules() {
        let b = m.bindings();
        assert!(!b.is_empty(), "{}: no bindings found", m.name);
        assert_eq!(b[0], (0, BindingKind::Uniform), "{}: binding 0 must be the uniform Params", m.name);
        for (i, (index, kind)) in b.iter().enumerate() {
            assert_eq!(*index as usize, i, "{}: bindings must be 0, 1, 2, ... without gaps", m.name);
            if i > 0 {
                assert_ne!(*kind, BindingKind::Uniform, "{}: only binding 0 is a uniform", m.name);
            }
        }
    }
}
