// Softmax over the last axis of f32 rows: one workgroup of 256 invocations per row. Pass 1 keeps
// an online (max, sum of e^(x - max)) per invocation over a strided slice of the row and merges
// them across the workgroup; pass 2 writes e^(x - max) / sum. Reference conventions: a NaN or
// +inf entry makes the row NaN, an all -inf row is zeros.
// Sections (`//! section <name>`): `head`, then `reduce.base` or `reduce.subgroup` (each defines
// the entry-point input `Inv` and `wg_merge`), then `kernels`.

//! section head
struct Params {
    // Row length.
    d: u32,
    // Number of rows.
    rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const WG: u32 = 256u;

// A partial softmax state: max `m` of the entries seen (-inf when none), `s` = Σ e^(x - m)
// (0 when none), `bad` = 1 when a NaN or +inf was seen.
struct State {
    m: f32,
    s: f32,
    bad: u32,
}

// `s` rescaled from its max `m` to a larger max `to` (0 stays 0, even when both are -inf).
fn rescale(s: f32, m: f32, to: f32) -> f32 {
    return select(s * exp(m - to), 0.0, s == 0.0);
}

//! section reduce.base
struct Inv {
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
}

var<workgroup> red_m: array<f32, 256>;
var<workgroup> red_s: array<f32, 256>;
var<workgroup> red_bad: array<u32, 256>;

// The workgroup's merged state, returned to every invocation (tree reduction).
fn wg_merge(st: State, inv: Inv) -> State {
    red_m[inv.lid] = st.m;
    red_s[inv.lid] = st.s;
    red_bad[inv.lid] = st.bad;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if (inv.lid < k) {
            let m1 = red_m[inv.lid];
            let m2 = red_m[inv.lid + k];
            let m = max(m1, m2);
            red_s[inv.lid] = rescale(red_s[inv.lid], m1, m) + rescale(red_s[inv.lid + k], m2, m);
            red_m[inv.lid] = m;
            red_bad[inv.lid] |= red_bad[inv.lid + k];
        }
        workgroupBarrier();
    }
    return State(red_m[0], red_s[0], red_bad[0]);
}

//! section reduce.subgroup
struct Inv {
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_id) sg: u32,
    @builtin(num_subgroups) nsg: u32,
    @builtin(subgroup_invocation_id) lane: u32,
}

// One merged state per subgroup (subgroups have at least 4 invocations; the host checks).
var<workgroup> red_m: array<f32, 64>;
var<workgroup> red_s: array<f32, 64>;
var<workgroup> red_bad: array<u32, 64>;

// The workgroup's merged state, returned to every invocation: subgroup max and sum, then every
// invocation merges the few per-subgroup states.
fn wg_merge(st: State, inv: Inv) -> State {
    let m = subgroupMax(st.m);
    let s = subgroupAdd(rescale(st.s, st.m, m));
    let bad = subgroupMax(st.bad);
    if (inv.lane == 0u) {
        red_m[inv.sg] = m;
        red_s[inv.sg] = s;
        red_bad[inv.sg] = bad;
    }
    workgroupBarrier();
    var all_m = red_m[0];
    var all_bad = 0u;
    for (var i = 1u; i < inv.nsg; i++) {
        all_m = max(all_m, red_m[i]);
    }
    var all_s = 0.0;
    for (var i = 0u; i < inv.nsg; i++) {
        all_s += rescale(red_s[i], red_m[i], all_m);
        all_bad |= red_bad[i];
    }
    return State(all_m, all_s, all_bad);
}

//! section kernels
@compute @workgroup_size(256)
fn softmax(inv: Inv) {
    let row = linear_workgroup(inv.wid, inv.nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.d;
    var st = State(-3.40282347e38, 0.0, 0u);
    var seen = false;
    for (var j = inv.lid; j < p.d; j += WG) {
        let v = x[base + j];
        let bits = bitcast<u32>(v);
        if ((bits & 0x7fffffffu) > 0x7f800000u || bits == 0x7f800000u) {
            st.bad = 1u;
        } else if (bits != 0xff800000u) {
            // A finite entry (-inf adds nothing).
            if (!seen || v > st.m) {
                st.s = rescale(st.s, st.m, v) + 1.0;
                st.m = v;
                seen = true;
            } else {
                st.s += exp(v - st.m);
            }
        }
    }
    if (!seen) {
        st.m = bitcast<f32>(0xff800000u);
    }
    let all = wg_merge(st, inv);
    for (var j = inv.lid; j < p.d; j += WG) {
        var out = 0.0;
        if (all.bad != 0u) {
            out = bitcast<f32>(0x7fc00000u);
        } else if (all.s > 0.0) {
            out = exp(x[base + j] - all.m) / all.s;
        }
        y[base + j] = out;
    }
}
