// Scaled dot-product attention over a KV cache: a tiled flash kernel for prefill, and a split-KV
// kernel for decode whose partial results (running max, sum and output per split) a merge kernel
// combines by log-sum-exp.
//
// q [b, hq, s, d] f32; k, v [b, hkv, capacity, d] f32 or f16 (packed two per word); optional
// additive mask [s, kv_len] f32; out [b, hq, s, d] f32. Query row i sits at position
// kv_len - s + i; with `causal`, keys after it are skipped (never read). Rows kv_len.. of the
// cache are never read either.
//
// Both kernels work on the "rows" of one KV head: the G = hq / hkv query heads sharing it times
// the s query rows, ordered rr = i * G + hh (query row i, head hh of the group), so that a tile
// of consecutive rows shares its keys (GQA) and nearly the same causal limit.
//
// Softmax conventions (those of the reference): a NaN or +inf score poisons its row (NaN
// output); -inf scores get weight 0; a row without any finite score yields zeros. NaN and
// infinities are detected on bit patterns so that no compiler assumption about them matters.

struct Params {
    batch: u32,
    n_head: u32,
    n_kv_head: u32,
    seq_q: u32,
    head_dim: u32,
    capacity: u32,
    // Valid cache rows (past + s, or the capacity); clamped to the capacity here.
    kv_len: u32,
    // 1 when k and v are f16.
    kv_f16: u32,
    causal: u32,
    has_mask: u32,
    has_softcap: u32,
    scale: f32,
    softcap: f32,
    // Split kernel: number of splits and keys per split (a multiple of SK).
    n_split: u32,
    split_len: u32,
    // Merge kernel: output rows b * hq * s.
    n_rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kbuf: array<u32>;
@group(0) @binding(3) var<storage, read> vbuf: array<u32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

const T: u32 = 128u;

// Flash kernel tiles: FR query rows, FC keys (a multiple of 8, set by the module with the size WSH
// of the workgroup array), head_dim at most FD (rows padded by one word in workgroup memory
// against bank conflicts).
const FR: u32 = 16u;
const FD: u32 = 128u;
const F_Q: u32 = 0u;
const F_KV: u32 = F_Q + FR * (FD + 1u);
const F_P: u32 = F_KV + FC * (FD + 1u);
const F_M: u32 = F_P + FR * FC;
const F_L: u32 = F_M + FR;
const F_A: u32 = F_L + FR;
const F_BAD: u32 = F_A + FR;
const F_END: u32 = F_BAD + FR;

// Split kernel: SR query rows, SK keys per pass with ST threads per key, head_dim at most SD.
const SR: u32 = 8u;
const ST: u32 = 8u;
const SK: u32 = T / ST;
const SD: u32 = 256u;
const S_Q: u32 = 0u;
const S_RED: u32 = S_Q + SR * SD;
const S_P: u32 = S_RED + SR * SK * ST;
const S_M: u32 = S_P + SR * SK;
const S_L: u32 = S_M + SR;
const S_A: u32 = S_L + SR;
const S_BAD: u32 = S_A + SR;
const S_END: u32 = S_BAD + SR;

// Merge kernel: at most MS splits.
const MS: u32 = 64u;

// One workgroup array shared by the kernels (each carves its own regions).
var<workgroup> wsh: array<f32, WSH>;

fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn is_neg_inf(x: f32) -> bool {
    return bitcast<u32>(x) == 0xff800000u;
}

fn is_pos_inf(x: f32) -> bool {
    return bitcast<u32>(x) == 0x7f800000u;
}

fn neg_inf() -> f32 {
    return bitcast<f32>(0xff800000u | (p.kv_f16 & 0u));
}

fn nan_value() -> f32 {
    return bitcast<f32>(0x7fc00000u | (p.kv_f16 & 0u));
}

// tanh without overflow for any finite or infinite x.
fn tanh_safe(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}

fn kv_len_clamped() -> u32 {
    return min(p.kv_len, p.capacity);
}

// Keys row rr (of a KV head's rows) takes part in: 0..row_keys.
fn row_keys(rr: u32, kv_len: u32) -> u32 {
    if (p.causal == 0u) {
        return kv_len;
    }
    let i = rr / (p.n_head / p.n_kv_head);
    let position = i32(kv_len) - i32(p.seq_q) + i32(i);
    return u32(clamp(position + 1, 0, i32(kv_len)));
}

// Index of row rr's query (and output) row in q's [b, hq, s] rows.
fn q_row(b: u32, kvh: u32, rr: u32) -> u32 {
    let g = p.n_head / p.n_kv_head;
    let h = kvh * g + rr % g;
    return (b * p.n_head + h) * p.seq_q + rr / g;
}

// A scaled q·k finished: softcap, then the additive mask of (query row i, key j).
fn finish_score(dot: f32, i: u32, j: u32, kv_len: u32) -> f32 {
    var x = dot;
    if (p.has_softcap != 0u) {
        x = p.softcap * tanh_safe(x / p.softcap);
    }
    if (p.has_mask != 0u) {
        x += mask[i * kv_len + j];
    }
    return x;
}

fn k_elem(i: u32) -> f32 {
    if (p.kv_f16 != 0u) {
        return f16_of(kbuf[i >> 1u], i & 1u);
    }
    return bitcast<f32>(kbuf[i]);
}

fn v_elem(i: u32) -> f32 {
    if (p.kv_f16 != 0u) {
        return f16_of(vbuf[i >> 1u], i & 1u);
    }
    return bitcast<f32>(vbuf[i]);
}

// Elements i and i + 1 of k (the second 0 unless `two`).
fn k_pair(i: u32, two: bool) -> vec2<f32> {
    if (p.kv_f16 == 0u) {
        var b = 0.0;
        if (two) {
            b = bitcast<f32>(kbuf[i + 1u]);
        }
        return vec2<f32>(bitcast<f32>(kbuf[i]), b);
    }
    let w = unpack2x16float(kbuf[i >> 1u]);
    if ((i & 1u) == 0u) {
        return vec2<f32>(w.x, select(0.0, w.y, two));
    }
    var b = 0.0;
    if (two) {
        b = unpack2x16float(kbuf[(i >> 1u) + 1u]).x;
    }
    return vec2<f32>(w.y, b);
}

fn v_pair(i: u32, two: bool) -> vec2<f32> {
    if (p.kv_f16 == 0u) {
        var b = 0.0;
        if (two) {
            b = bitcast<f32>(vbuf[i + 1u]);
        }
        return vec2<f32>(bitcast<f32>(vbuf[i]), b);
    }
    let w = unpack2x16float(vbuf[i >> 1u]);
    if ((i & 1u) == 0u) {
        return vec2<f32>(w.x, select(0.0, w.y, two));
    }
    var b = 0.0;
    if (two) {
        b = unpack2x16float(vbuf[(i >> 1u) + 1u]).x;
    }
    return vec2<f32>(w.y, b);
}

// Online-softmax update of one row from `n` new scores at wsh[at..]: the scores are replaced by
// their weights exp(s - m), the running max (m_at), sum (l_at) and poison flag (bad_at)
// updated, and the factor rescaling the row's output so far stored at a_at.
fn online_update(at: u32, n: u32, m_at: u32, l_at: u32, a_at: u32, bad_at: u32) {
    let m_old = wsh[m_at];
    var m_new = m_old;
    var bad = wsh[bad_at];
    for (var c = 0u; c < n; c++) {
        let s = wsh[at + c];
        if (is_nan(s) || is_pos_inf(s)) {
            bad = 1.0;
        } else {
            m_new = max(m_new, s);
        }
    }
    var alpha = 1.0;
    if (!is_neg_inf(m_new) && !is_neg_inf(m_old)) {
        alpha = exp(m_old - m_new);
    } else if (!is_neg_inf(m_new)) {
        alpha = 0.0;
    }
    var sum = 0.0;
    for (var c = 0u; c < n; c++) {
        let s = wsh[at + c];
        var w = 0.0;
        if (!is_neg_inf(s) && !is_neg_inf(m_new)) {
            w = exp(s - m_new);
        }
        wsh[at + c] = w;
        sum += w;
    }
    wsh[m_at] = m_new;
    wsh[l_at] = wsh[l_at] * alpha + sum;
    wsh[a_at] = alpha;
    wsh[bad_at] = bad;
}

// Prefill: one workgroup per FR rows of one KV head; grid [ceil(G*s / FR), hkv, b].
@compute @workgroup_size(128)
fn flash(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let d = p.head_dim;
    let ds = d + 1u;
    let kvh = wid.y;
    let b = wid.z;
    let rows = (p.n_head / p.n_kv_head) * p.seq_q;
    let r0 = wid.x * FR;
    if (r0 >= rows || d == 0u || d > FD) {
        return;
    }
    let kv_len = kv_len_clamped();
    let kv_base = (b * p.n_kv_head + kvh) * p.capacity * d;

    for (var x = t; x < FR * d; x += T) {
        let r = x / d;
        let e = x % d;
        var val = 0.0;
        if (r0 + r < rows) {
            val = q[q_row(b, kvh, r0 + r) * d + e] * p.scale;
        }
        wsh[F_Q + r * ds + e] = val;
    }
    if (t < FR) {
        wsh[F_M + t] = neg_inf();
        wsh[F_L + t] = 0.0;
        wsh[F_BAD + t] = 0.0;
    }
    // Rows are ordered by query row, so the tile's last row sees the most keys.
    let kmax = row_keys(min(r0 + FR, rows) - 1u, kv_len);

    // Score role: row sr, keys sc + 8n. Output role: rows er + 4m, columns ec + 32n.
    let sr = t / 8u;
    let sc = t % 8u;
    let er = t / 32u;
    let ec = t % 32u;
    var keys: array<u32, 4>;
    for (var m = 0u; m < 4u; m++) {
        let rr = r0 + er + 4u * m;
        keys[m] = select(0u, row_keys(rr, kv_len), rr < rows);
    }
    let s_keys = select(0u, row_keys(r0 + sr, kv_len), r0 + sr < rows);
    let n_cols = min(4u, (d + 31u - min(ec, d)) / 32u);
    var acc: array<f32, 16>;

    for (var j0 = 0u; j0 < kmax; j0 += FC) {
        workgroupBarrier();
        for (var x = t; x < FC * d; x += T) {
            let c = x / d;
            let e = x % d;
            var val = 0.0;
            if (j0 + c < kv_len) {
                val = k_elem(kv_base + (j0 + c) * d + e);
            }
            wsh[F_KV + c * ds + e] = val;
        }
        workgroupBarrier();
        var dots: array<f32, FC / 8u>;
        if (j0 + sc < s_keys) {
            for (var e = 0u; e < d; e++) {
                let qe = wsh[F_Q + sr * ds + e];
                for (var n = 0u; n < FC / 8u; n++) {
                    dots[n] += qe * wsh[F_KV + (sc + 8u * n) * ds + e];
                }
            }
        }
        for (var n = 0u; n < FC / 8u; n++) {
            let c = sc + 8u * n;
            var s = neg_inf();
            if (j0 + c < s_keys) {
                s = finish_score(dots[n], (r0 + sr) / (p.n_head / p.n_kv_head), j0 + c, kv_len);
            }
            wsh[F_P + sr * FC + c] = s;
        }
        workgroupBarrier();
        for (var x = t; x < FC * d; x += T) {
            let c = x / d;
            let e = x % d;
            var val = 0.0;
            if (j0 + c < kv_len) {
                val = v_elem(kv_base + (j0 + c) * d + e);
            }
            wsh[F_KV + c * ds + e] = val;
        }
        if (t < FR) {
            online_update(F_P + t * FC, FC, F_M + t, F_L + t, F_A + t, F_BAD + t);
        }
        workgroupBarrier();
        // Constant trip counts (branches inside) keep acc in registers once unrolled.
        var nv: array<u32, 4>;
        var n_keys = 0u;
        for (var m = 0u; m < 4u; m++) {
            let alpha = wsh[F_A + er + 4u * m];
            for (var n = 0u; n < 4u; n++) {
                acc[m * 4u + n] *= alpha;
            }
            nv[m] = min(FC, keys[m] - min(keys[m], j0));
            n_keys = max(n_keys, nv[m]);
        }
        for (var c = 0u; c < n_keys; c++) {
            var vv: array<f32, 4>;
            for (var n = 0u; n < 4u; n++) {
                if (n < n_cols) {
                    vv[n] = wsh[F_KV + c * ds + ec + 32u * n];
                }
            }
            for (var m = 0u; m < 4u; m++) {
                if (c < nv[m]) {
                    let w = wsh[F_P + (er + 4u * m) * FC + c];
                    for (var n = 0u; n < 4u; n++) {
                        acc[m * 4u + n] += w * vv[n];
                    }
                }
            }
        }
    }
    workgroupBarrier();
    for (var m = 0u; m < 4u; m++) {
        let r = er + 4u * m;
        if (r0 + r >= rows) {
            continue;
        }
        let l = wsh[F_L + r];
        let bad = wsh[F_BAD + r] != 0.0;
        let o = q_row(b, kvh, r0 + r) * d;
        for (var n = 0u; n < 4u; n++) {
            let e = ec + 32u * n;
            if (e < d) {
                var y = acc[m * 4u + n];
                if (bad) {
                    y = nan_value();
                } else if (l != 0.0) {
                    y = y / l;
                }
                out[o + e] = y;
            }
        }
    }
}

// Merges the splits of each output row by log-sum-exp; one workgroup per row (1-D grid).
@compute @workgroup_size(64)
fn merge(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) t: u32) {
    let row = linear_workgroup(wid, nwg);
    if (row >= p.n_rows) {
        return;
    }
    let d = p.head_dim;
    let ns = min(p.n_split, MS);
    let base = row * p.n_split * (d + 2u);
    var m_all = neg_inf();
    var bad = false;
    for (var s = 0u; s < ns; s++) {
        let m = partial[base + s * (d + 2u)];
        if (is_nan(partial[base + s * (d + 2u) + 1u]) || is_nan(m)) {
            bad = true;
        } else {
            m_all = max(m_all, m);
        }
    }
    if (t < ns) {
        let m = partial[base + t * (d + 2u)];
        var w = 0.0;
        if (!is_neg_inf(m) && !is_neg_inf(m_all)) {
            w = exp(m - m_all);
        }
        wsh[t] = w;
    }
    workgroupBarrier();
    var l = 0.0;
    for (var s = 0u; s < ns; s++) {
        l += wsh[s] * partial[base + s * (d + 2u) + 1u];
    }
    for (var e = t; e < d; e += 64u) {
        var y = 0.0;
        for (var s = 0u; s < ns; s++) {
            y += wsh[s] * partial[base + s * (d + 2u) + 2u + e];
        }
        if (bad) {
            y = nan_value();
        } else if (l != 0.0) {
            y = y / l;
        }
        out[row * d + e] = y;
    }
}

// Decode, split-KV: one workgroup per (split, SR rows, KV head); grid
// [n_split, ceil(G*s / SR), b * hkv]. Each pass scores SK consecutive keys (ST threads per key
// read its row in 32-byte runs), then streams their values with one element pair per thread.
// Writes per row and split: max, sum (NaN when poisoned) and the unnormalised output, at
// partial[(row * n_split + split) * (d + 2)]. The entry point `split` is in the module's variant
// section below; these helpers are shared.

struct Split {
    d: u32,
    // Element pairs per row, and the q row stride in workgroup memory (2 * np).
    np: u32,
    dq: u32,
    sp: u32,
    kvh: u32,
    b: u32,
    r0: u32,
    // Rows of this workgroup (0 when it has none).
    nr: u32,
    kv_len: u32,
    kv_base: u32,
    j_begin: u32,
    j_end: u32,
}

// The workgroup's geometry; loads its scaled q rows and resets the row statistics.
fn split_begin(wid: vec3<u32>, t: u32) -> Split {
    var c: Split;
    c.d = p.head_dim;
    c.np = (c.d + 1u) / 2u;
    c.dq = 2u * c.np;
    c.sp = wid.x;
    c.kvh = wid.z % p.n_kv_head;
    c.b = wid.z / p.n_kv_head;
    let rows = (p.n_head / p.n_kv_head) * p.seq_q;
    c.r0 = wid.y * SR;
    if (c.r0 >= rows || c.d == 0u || c.d > SD) {
        return c;
    }
    c.nr = min(SR, rows - c.r0);
    c.kv_len = kv_len_clamped();
    c.kv_base = (c.b * p.n_kv_head + c.kvh) * p.capacity * c.d;
    c.j_begin = c.sp * p.split_len;
    c.j_end = min(c.j_begin + p.split_len, row_keys(c.r0 + c.nr - 1u, c.kv_len));
    for (var x = t; x < SR * c.dq; x += T) {
        let r = x / c.dq;
        let e = x % c.dq;
        var val = 0.0;
        if (r < c.nr && e < c.d) {
            val = q[q_row(c.b, c.kvh, c.r0 + r) * c.d + e] * p.scale;
        }
        wsh[S_Q + x] = val;
    }
    if (t < SR) {
        wsh[S_M + t] = neg_inf();
        wsh[S_L + t] = 0.0;
        wsh[S_BAD + t] = 0.0;
    }
    return c;
}

// Keys each row takes from this split: 0..keys[r].
fn split_keys(c: Split) -> array<u32, SR> {
    var keys: array<u32, SR>;
    for (var r = 0u; r < SR; r++) {
        keys[r] = select(0u, min(row_keys(c.r0 + r, c.kv_len), c.j_end), r < c.nr);
    }
    return keys;
}

// Partial q·k of key j (0 when j >= j_end) for every row: this thread's element pairs part,
// part + ST, ...
fn split_dots(c: Split, j: u32, part: u32) -> array<f32, SR> {
    var dots: array<f32, SR>;
    if (j < c.j_end) {
        let base = c.kv_base + j * c.d;
        // All of the row's loads first (constant trip count), so they are in flight together.
        var kv: array<vec2<f32>, SD / 2u / ST>;
        for (var n = 0u; n < SD / 2u / ST; n++) {
            let pi = part + ST * n;
            if (pi < c.np) {
                kv[n] = k_pair(base + 2u * pi, 2u * pi + 1u < c.d);
            }
        }
        for (var n = 0u; n < SD / 2u / ST; n++) {
            let pi = part + ST * n;
            if (pi < c.np) {
                for (var r = 0u; r < SR; r++) {
                    let qv = vec2<f32>(wsh[S_Q + r * c.dq + 2u * pi], wsh[S_Q + r * c.dq + 2u * pi + 1u]);
                    dots[r] += dot(qv, kv[n]);
                }
            }
        }
    }
    return dots;
}

// The score of row r and key j0 + col from its full q·k (-inf when the row does not take it).
fn split_score(c: Split, keys: array<u32, SR>, r: u32, j: u32, dot: f32) -> f32 {
    if (r < c.nr && j < keys[r]) {
        return finish_score(dot, (c.r0 + r) / (p.n_head / p.n_kv_head), j, c.kv_len);
    }
    return neg_inf();
}

// After a pass's scores are at S_P: the softmax update, then the weighted values of its keys.
fn split_accumulate(c: Split, keys: array<u32, SR>, j0: u32, t: u32, acc: ptr<function, array<vec2<f32>, SR>>) {
    if (t < SR) {
        online_update(S_P + t * SK, SK, S_M + t, S_L + t, S_A + t, S_BAD + t);
    }
    workgroupBarrier();
    if (t < c.np) {
        for (var r = 0u; r < SR; r++) {
            (*acc)[r] *= wsh[S_A + r];
        }
        // The pass's value loads first (constant trip count), so they are in flight together.
        var vv: array<vec2<f32>, SK>;
        for (var k = 0u; k < SK; k++) {
            if (j0 + k < c.j_end) {
                vv[k] = v_pair(c.kv_base + (j0 + k) * c.d + 2u * t, 2u * t + 1u < c.d);
            }
        }
        for (var k = 0u; k < SK; k++) {
            for (var r = 0u; r < SR; r++) {
                if (j0 + k < keys[r]) {
                    (*acc)[r] += wsh[S_P + r * SK + k] * vv[k];
                }
            }
        }
    }
}

// Writes the workgroup's partials.
fn split_end(c: Split, t: u32, acc: array<vec2<f32>, SR>) {
    workgroupBarrier();
    for (var r = 0u; r < c.nr; r++) {
        let o = (q_row(c.b, c.kvh, c.r0 + r) * p.n_split + c.sp) * (c.d + 2u);
        if (t == 0u) {
            partial[o] = wsh[S_M + r];
            partial[o + 1u] = select(wsh[S_L + r], nan_value(), wsh[S_BAD + r] != 0.0);
        }
        if (t < c.np) {
            partial[o + 2u + 2u * t] = acc[r].x;
            if (2u * t + 1u < c.d) {
                partial[o + 3u + 2u * t] = acc[r].y;
            }
        }
    }
}

// ==== split: base
// The split kernel reducing each key's ST partial dot products through workgroup memory.
@compute @workgroup_size(128)
fn split(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let c = split_begin(wid, t);
    if (c.nr == 0u) {
        return;
    }
    workgroupBarrier();
    let keys = split_keys(c);
    let kj = t / ST;
    let part = t % ST;
    var acc: array<vec2<f32>, SR>;
    for (var j0 = c.j_begin; j0 < c.j_end; j0 += SK) {
        let dots = split_dots(c, j0 + kj, part);
        for (var r = 0u; r < SR; r++) {
            wsh[S_RED + (r * SK + kj) * ST + part] = dots[r];
        }
        workgroupBarrier();
        if (t < SR * SK) {
            let r = t / SK;
            let k = t % SK;
            var sum = 0.0;
            for (var x = 0u; x < ST; x++) {
                sum += wsh[S_RED + t * ST + x];
            }
            wsh[S_P + t] = split_score(c, keys, r, j0 + k, sum);
        }
        workgroupBarrier();
        split_accumulate(c, keys, j0, t, &acc);
    }
    split_end(c, t, acc);
}

// ==== split: subgroup
// The split kernel reducing each key's ST partial dot products with subgroup shuffles. Roles
// follow the subgroup layout (vt below), so the ST lanes of a key share a subgroup whatever the
// device's mapping of invocations to subgroups; needs subgroups of at least ST lanes.
@compute @workgroup_size(128)
fn split(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32,
         @builtin(subgroup_id) sg: u32, @builtin(subgroup_size) sg_size: u32,
         @builtin(subgroup_invocation_id) lane: u32) {
    let c = split_begin(wid, t);
    if (c.nr == 0u) {
        return;
    }
    workgroupBarrier();
    let keys = split_keys(c);
    let vt = sg * sg_size + lane;
    let kj = vt / ST;
    let part = vt % ST;
    var acc: array<vec2<f32>, SR>;
    for (var j0 = c.j_begin; j0 < c.j_end; j0 += SK) {
        let dots = split_dots(c, j0 + kj, part);
        // The previous pass's weights at S_P are read until here.
        workgroupBarrier();
        for (var r = 0u; r < SR; r++) {
            var x = dots[r];
            x += subgroupShuffleXor(x, 1u);
            x += subgroupShuffleXor(x, 2u);
            x += subgroupShuffleXor(x, 4u);
            if (part == 0u) {
                wsh[S_P + r * SK + kj] = split_score(c, keys, r, j0 + kj, x);
            }
        }
        workgroupBarrier();
        split_accumulate(c, keys, j0, t, &acc);
    }
    split_end(c, t, acc);
}
