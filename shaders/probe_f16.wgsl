// The f16 multiply-add rate probe: like `fma_f32` on vec4<f16> chains (needs `enable f16;`).

struct Params {
    n: u32,
    mul: f32,
    add: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>;

// 64 multiply-adds per trip: 128 FLOPs.
@compute @workgroup_size(256)
fn fma_f16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let seed = f16(f32(gid.x & 1023u) * 1e-4);
    var a0 = vec4<f16>(seed, seed + 0.1h, seed + 0.2h, seed + 0.3h);
    var a1 = a0 + 1.0h;
    var a2 = a0 + 2.0h;
    var a3 = a0 + 3.0h;
    var a4 = a0 + 4.0h;
    var a5 = a0 + 5.0h;
    var a6 = a0 + 6.0h;
    var a7 = a0 + 7.0h;
    let m = vec4<f16>(f16(p.mul));
    let c = vec4<f16>(f16(p.add));
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
    let s = vec4<f32>(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
    let flat = gid.x + gid.y * nwg.x * 256u;
    if (flat < arrayLength(&dst)) {
        dst[flat] = bitcast<vec4<u32>>(s);
    }
}
