// Elementwise activations on f32 or f16 data (f16 packed two per word).

struct Params {
    // Number of elements.
    n: u32,
    // 1 when the data is f16 (packed in words), else f32.
    is_f16: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

fn silu_f(v: f32) -> f32 {
    return v / (1.0 + exp(-v));
}

// One invocation per output word: one f32 element, or two f16 elements.
@compute @workgroup_size(256)
fn silu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wid, nwg) * 256u + lid;
    if (p.is_f16 == 0u) {
        if (i < p.n) {
            y[i] = bitcast<u32>(silu_f(bitcast<f32>(x[i])));
        }
        return;
    }
    if (2u * i < p.n) {
        let w = x[i];
        y[i] = pack_f16(silu_f(f16_of(w, 0u)), silu_f(f16_of(w, 1u)));
    }
}
