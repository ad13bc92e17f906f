//! Fuzzes the `op` command's `--param key=value` parsing (`cli/src/op/params.rs`) and the op
//! specs that turn parameters into ops (`cli/src/op/spec.rs`). The first byte picks an op, the
//! rest is split at newlines into `--param` items.

#![no_main]

use edgehal_fuzz::op::params::Params;
use edgehal_fuzz::op::spec::OPS;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let spec = &OPS[which as usize % OPS.len()];
    let items: Vec<String> = text.split('\n').map(str::to_string).collect();
    if let Ok(params) = Params::parse(spec.name, &items, &spec.param_names()) {
        let _ = spec.build(&params);
        for key in spec.param_names() {
            let _ = (params.f32(key), params.usize(key), params.bool(key), params.usize_list(key));
        }
    }
});
