// rms_norm and layer_norm over the last axis of f32 rows: one workgroup of 256 invocations per
// row, each summing a strided slice of the row (coalesced loads), then a workgroup reduction.
// Sections (`//! section <name>`) are glued per variant: `head`, then `reduce.base` or
// `reduce.subgroup` (each defines the entry-point input `Inv` and `wg_sum`), then `kernels`.

//! section head
struct Params {
    // Row length.
    d: u32,
    // Number of rows.
    rows: u32,
    // 1 when a weight [d] is bound at `w`, else 0.
    has_weight: u32,
    // 1 when a bias [d] is bound at `b` (layer_norm), else 0.
    has_bias: u32,
    // Added to the mean square (rms_norm) or the variance (layer_norm).
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const WG: u32 = 256u;

//! section reduce.base
struct Inv {
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
}

var<workgroup> red: array<f32, 256>;

// The sum of `v` over the workgroup, returned to every invocation (tree reduction).
fn wg_sum(v: f32, inv: Inv) -> f32 {
    red[inv.lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (inv.lid < s) {
            red[inv.lid] += red[inv.lid + s];
        }
        workgroupBarrier();
    }
    let total = red[0];
    // `red` is reused by the next call.
    workgroupBarrier();
    return total;
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

// One partial sum per subgroup (subgroups have at least 4 invocations; the host checks).
var<workgroup> red: array<f32, 64>;

// The sum of `v` over the workgroup, returned to every invocation: a subgroup reduction, then
// every invocation adds the few per-subgroup partials.
fn wg_sum(v: f32, inv: Inv) -> f32 {
    let s = subgroupAdd(v);
    if (inv.lane == 0u) {
        red[inv.sg] = s;
    }
    workgroupBarrier();
    var total = 0.0;
    for (var i = 0u; i < inv.nsg; i++) {
        total += red[i];
    }
    workgroupBarrier();
    return total;
}

//! section kernels
// y = x / sqrt(mean(x²) + eps) (· weight).
@compute @workgroup_size(256)
fn rms_norm(inv: Inv) {
    let row = linear_workgroup(inv.wid, inv.nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.d;
    var ss = 0.0;
    for (var j = inv.lid; j < p.d; j += WG) {
        let v = x[base + j];
        ss += v * v;
    }
    let scale = 1.0 / sqrt(wg_sum(ss, inv) / f32(p.d) + p.eps);
    for (var j = inv.lid; j < p.d; j += WG) {
        var v = x[base + j] * scale;
        if (p.has_weight != 0u) {
            v *= w[j];
        }
        y[base + j] = v;
    }
}

// y = (x - mean) / sqrt(var + eps) (· weight) (+ bias), with the variance of the centred row
// (two passes over the row, which stays in cache, instead of E[x²] - mean² which cancels).
@compute @workgroup_size(256)
fn layer_norm(inv: Inv) {
    let row = linear_workgroup(inv.wid, inv.nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.d;
    var s = 0.0;
    for (var j = inv.lid; j < p.d; j += WG) {
        s += x[base + j];
    }
    let mean = wg_sum(s, inv) / f32(p.d);
    var sq = 0.0;
    for (var j = inv.lid; j < p.d; j += WG) {
        let c = x[base + j] - mean;
        sq += c * c;
    }
    let inv_std = 1.0 / sqrt(wg_sum(sq, inv) / f32(p.d) + p.eps);
    for (var j = inv.lid; j < p.d; j += WG) {
        var v = (x[base + j] - mean) * inv_std;
        if (p.has_weight != 0u) {
            v *= w[j];
        }
        if (p.has_bias != 0u) {
            v += b[j];
        }
        y[base + j] = v;
    }
}
