// Elementwise activations (silu, gelu, swiglu) and add/mul with numpy broadcasting, on f32 or
// f16 data (f16 packed two per word). One invocation per output word: one f32 element, or two
// f16 elements.

// Broadcast axes handled in one dispatch; the host collapses mergeable axes first and splits
// what remains beyond this over several dispatches (`off_*`).
const MAX_RANK: u32 = 12u;

struct Params {
    // Output elements of this dispatch.
    n: u32,
    // 1 when the data is f16 (packed in words), else f32.
    is_f16: u32,
    // add/mul: broadcast axes in use (1..=MAX_RANK).
    rank: u32,
    // add/mul: element offsets of this dispatch's block in a, b and y.
    off_a: u32,
    off_b: u32,
    off_y: u32,
    // add/mul: output extents, innermost axis first.
    d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32, d6: u32, d7: u32, d8: u32, d9: u32, d10: u32, d11: u32,
    // add/mul: element strides of a along those axes (0 where broadcast).
    a0: u32, a1: u32, a2: u32, a3: u32, a4: u32, a5: u32, a6: u32, a7: u32, a8: u32, a9: u32, a10: u32, a11: u32,
    // add/mul: element strides of b.
    b0: u32, b1: u32, b2: u32, b3: u32, b4: u32, b5: u32, b6: u32, b7: u32, b8: u32, b9: u32, b10: u32, b11: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> x2: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<u32>;

// Element `e` of x / x2 as f32.
fn ld_x(e: u32) -> f32 {
    if (p.is_f16 != 0u) {
        return f16_of(x[e >> 1u], e & 1u);
    }
    return bitcast<f32>(x[e]);
}

fn ld_x2(e: u32) -> f32 {
    if (p.is_f16 != 0u) {
        return f16_of(x2[e >> 1u], e & 1u);
    }
    return bitcast<f32>(x2[e]);
}

// e^v to about 1 ulp over f32's whole range. The builtin `exp` is usually exp2(v·log2 e), whose
// relative error grows like |v|·ε from rounding the product, too much for silu's 8-ulp bound at
// |v| ≈ 80. Cody–Waite reduction v = n·ln2 + r (ln2's high part has few bits, so n·LN2_HI is
// exact), a degree-7 polynomial for e^r on |r| ≤ ln2/2 (Cephes' expf coefficients), and 2^n
// applied as two exact power-of-two factors so that neither leaves the normal range.
fn exp_acc(v: f32) -> f32 {
    if (v > 88.72284) {
        return bitcast<f32>(0x7f800000u);
    }
    if (v < -103.97208) {
        return 0.0;
    }
    let n = round(v * 1.44269504);
    let r = (v - n * 0.693145751953125) - n * 1.42860677e-6;
    let poly = ((((((1.9875691500e-4 * r + 1.3981999507e-3) * r + 8.3334519073e-3) * r + 4.1665795894e-2) * r
        + 1.6666665459e-1) * r + 5.0000001201e-1) * r * r + r) + 1.0;
    let ni = i32(n);
    let n1 = ni / 2;
    let n2 = ni - n1;
    return poly * bitcast<f32>(u32(n1 + 127) << 23u) * bitcast<f32>(u32(n2 + 127) << 23u);
}

// x / (1 + e^-x); silu(-inf) is NaN like the formula (-inf / inf).
fn silu_f(v: f32) -> f32 {
    return v / (1.0 + exp_acc(-v));
}

// 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x³), computed as x · sigmoid(2u) =
// x / (1 + e^(-2u)): the same value without the cancellation of 1 + tanh(u) for negative x.
fn gelu_tanh_f(v: f32) -> f32 {
    let u = 0.7978845608 * (v + 0.044715 * v * v * v);
    return v / (1.0 + exp_acc(-2.0 * u));
}

// 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2). erfc(z), z ≥ 0, with the Chebyshev fit of
// Numerical Recipes (relative error below 1.2e-7 for every z), so the negative tail where the
// result is tiny keeps its relative accuracy.
fn gelu_erf_f(v: f32) -> f32 {
    let z = abs(v) * 0.70710678;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
        + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let erfc_z = t * exp_acc(poly - z * z);
    return 0.5 * v * select(2.0 - erfc_z, erfc_z, v < 0.0);
}

// Which function an entry point applies.
const SILU: u32 = 0u;
const GELU_TANH: u32 = 1u;
const GELU_ERF: u32 = 2u;
const SWIGLU: u32 = 3u;
const ADD: u32 = 4u;
const MUL: u32 = 5u;

// One axis of the broadcast index walk: `st` = (index left, offset in a, offset in b).
fn axis(st: vec3<u32>, d: u32, sa: u32, sb: u32, last: bool) -> vec3<u32> {
    var q = 0u;
    var k = st.x;
    if (!last) {
        q = st.x / d;
        k = st.x - q * d;
    }
    return vec3<u32>(q, st.y + k * sa, st.z + k * sb);
}

// Offsets in a and b of output element `i` of this dispatch's block.
fn bcast(i: u32) -> vec2<u32> {
    var st = vec3<u32>(i, p.off_a, p.off_b);
    let r = p.rank;
    st = axis(st, p.d0, p.a0, p.b0, r == 1u);
    if (r > 1u) { st = axis(st, p.d1, p.a1, p.b1, r == 2u); }
    if (r > 2u) { st = axis(st, p.d2, p.a2, p.b2, r == 3u); }
    if (r > 3u) { st = axis(st, p.d3, p.a3, p.b3, r == 4u); }
    if (r > 4u) { st = axis(st, p.d4, p.a4, p.b4, r == 5u); }
    if (r > 5u) { st = axis(st, p.d5, p.a5, p.b5, r == 6u); }
    if (r > 6u) { st = axis(st, p.d6, p.a6, p.b6, r == 7u); }
    if (r > 7u) { st = axis(st, p.d7, p.a7, p.b7, r == 8u); }
    if (r > 8u) { st = axis(st, p.d8, p.a8, p.b8, r == 9u); }
    if (r > 9u) { st = axis(st, p.d9, p.a9, p.b9, r == 10u); }
    if (r > 10u) { st = axis(st, p.d10, p.a10, p.b10, r == 11u); }
    if (r > 11u) { st = axis(st, p.d11, p.a11, p.b11, true); }
    return st.yz;
}

// Output element `i` of this dispatch.
fn element(f: u32, i: u32) -> f32 {
    switch f {
        case SILU: { return silu_f(ld_x(i)); }
        case GELU_TANH: { return gelu_tanh_f(ld_x(i)); }
        case GELU_ERF: { return gelu_erf_f(ld_x(i)); }
        case SWIGLU: { return silu_f(ld_x(i)) * ld_x2(i); }
        case ADD: {
            let o = bcast(i);
            return ld_x(o.x) + ld_x2(o.y);
        }
        default: {
            let o = bcast(i);
            return ld_x(o.x) * ld_x2(o.y);
        }
    }
}

// Output word `i` of this dispatch (its elements start at element `off_y`, even for f16).
fn run(f: u32, wid: vec3<u32>, nwg: vec3<u32>, lid: u32) {
    let i = linear_workgroup(wid, nwg) * 256u + lid;
    if (p.is_f16 == 0u) {
        if (i < p.n) {
            y[p.off_y + i] = bitcast<u32>(element(f, i));
        }
        return;
    }
    if (2u * i < p.n) {
        let lo = element(f, 2u * i);
        var hi = 0.0;
        if (2u * i + 1u < p.n) {
            hi = element(f, 2u * i + 1u);
        }
        y[(p.off_y >> 1u) + i] = pack_f16(lo, hi);
    }
}

@compute @workgroup_size(256)
fn silu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    run(SILU, wid, nwg, lid);
}

@compute @workgroup_size(256)
fn gelu_tanh(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    run(GELU_TANH, wid, nwg, lid);
}

@compute @workgroup_size(256)
fn gelu_erf(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    run(GELU_ERF, wid, nwg, lid);
}

// silu(x) · x2, same shapes.
@compute @workgroup_size(256)
fn swiglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    run(SWIGLU, wid, nwg, lid);
}

// x + x2 with broadcasting (strides in the params).
@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    run(ADD, wid, nwg, lid);
}

// x · x2 with broadcasting.
@compute @workgroup_size(256)
fn mul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    run(MUL, wid, nwg, lid);
}
