// Peak probes: a multiply-add rate kernel (8 independent vec4 chains per invocation, so the
// arithmetic pipes stay full) and a copy kernel (vec4 words, coalesced) for bandwidth.

struct Params {
    // Loop trips of the FMA kernel / vec4 words to copy.
    n: u32,
    // Multiplier and addend of the FMA chains (runtime values, so nothing folds at compile time).
    mul: f32,
    add: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>;

// 64 multiply-adds per trip: 128 FLOPs.
@compute @workgroup_size(256)
fn fma_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let seed = f32(gid.x) * 1e-7;
    var a0 = vec4<f32>(seed, seed + 0.1, seed + 0.2, seed + 0.3);
    var a1 = a0 + 1.0;
    var a2 = a0 + 2.0;
    var a3 = a0 + 3.0;
    var a4 = a0 + 4.0;
    var a5 = a0 + 5.0;
    var a6 = a0 + 6.0;
    var a7 = a0 + 7.0;
    let m = vec4<f32>(p.mul);
    let c = vec4<f32>(p.add);
    for (var i = 0u; i < p.n; i++) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
    }
    let s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    let flat = gid.x + gid.y * nwg.x * 256u;
    if (flat < arrayLength(&dst)) {
        dst[flat] = bitcast<vec4<u32>>(s);
    }
}

// Each invocation copies vec4 words i, i + stride, i + 2·stride, ... (stride = all invocations).
@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let stride = nwg.x * 256u;
    for (var i = gid.x; i < p.n; i += stride) {
        dst[i] = src[i];
    }
}
