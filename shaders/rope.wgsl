// Rotary position embedding of x [b, h, s, d] f32 (d even): row r sits at position
// offset + r % s; pair i rotates by the angle position * theta^(-2i/d). Normal mode pairs
// (2i, 2i + 1), Neox mode (i, i + d/2).

struct Params {
    // Number of pairs, b * h * s * d / 2.
    n_pairs: u32,
    seq: u32,
    head_dim: u32,
    // 1 for Neox (rotate-half) pairing.
    neox: u32,
    // Position of row 0 (the run position for `Position::Run`).
    offset: u32,
    // theta^(-2/d), rounded once from f64 on the host.
    theta_scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// base^n by squaring: about n ulps of error, like ggml's repeated multiplication, but log2(n) steps.
fn pow_u(base: f32, n: u32) -> f32 {
    var result = 1.0;
    var b = base;
    var e = n;
    loop {
        if (e == 0u) {
            break;
        }
        if ((e & 1u) != 0u) {
            result *= b;
        }
        b *= b;
        e = e >> 1u;
    }
    return result;
}

// An angle reduced to about [-pi, pi] (Cody-Waite with 2pi split in two; the first part has 8
// significant bits, so n * 6.28125 is exact for n < 2^16), because GPU sin/cos are accurate only
// near zero.
fn reduce_angle(a: f32) -> f32 {
    let n = round(a * 0.15915494309189535);
    return (a - n * 6.28125) - n * 0.0019353071795864769;
}

// One invocation per pair.
@compute @workgroup_size(256)
fn rope(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = linear_workgroup(wid, nwg) * 256u + lid;
    if (idx >= p.n_pairs) {
        return;
    }
    let half = p.head_dim / 2u;
    let row = idx / half;
    let i = idx % half;
    let position = f32(p.offset + row % p.seq);
    let angle = reduce_angle(position * pow_u(p.theta_scale, i));
    let s = sin(angle);
    let c = cos(angle);
    let base = row * p.head_dim;
    var i0 = base + 2u * i;
    var i1 = i0 + 1u;
    if (p.neox != 0u) {
        i0 = base + i;
        i1 = i0 + half;
    }
    let x0 = x[i0];
    let x1 = x[i1];
    y[i0] = x0 * c - x1 * s;
    y[i1] = x0 * s + x1 * c;
}
