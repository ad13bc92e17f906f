// kv_write: new rows [b, h, s, d] f32 into the cache [b, h, capacity, d] (f32, or f16 packed two
// per word) at rows pos..pos + s of every (batch, head). Nothing is written when the rows do not
// fit the capacity (the position may come from the run, so the host cannot always refuse it).

struct Params {
    // b * h.
    heads: u32,
    capacity: u32,
    head_dim: u32,
    seq: u32,
    // First row written (the run position for `Position::Run`).
    pos: u32,
    // 1 when the cache is f16.
    is_f16: u32,
    // Invocations per (batch, head): s * d for f32, s * d / 2 + 1 for f16 (enough words for any
    // alignment of the first element).
    per_head: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> new_rows: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<u32>;

// One invocation per cache word written (a word holds one f32 or two f16 elements; f16 words
// shared with rows outside the write keep their other half).
@compute @workgroup_size(256)
fn kv_write(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let idx = linear_workgroup(wid, nwg) * 256u + lid;
    if (idx >= p.heads * p.per_head || p.pos > p.capacity || p.seq > p.capacity - p.pos) {
        return;
    }
    let bh = idx / p.per_head;
    let k = idx % p.per_head;
    let n = p.seq * p.head_dim;
    let src = bh * n;
    let start = (bh * p.capacity + p.pos) * p.head_dim;
    if (p.is_f16 == 0u) {
        cache[start + k] = bitcast<u32>(new_rows[src + k]);
        return;
    }
    let w = start / 2u + k;
    if (2u * w >= start + n) {
        return;
    }
    let old = cache[w];
    var lo_bits = old & 0xffffu;
    var hi_bits = old >> 16u;
    if (2u * w >= start) {
        lo_bits = f16_bits(new_rows[src + 2u * w - start]);
    }
    if (2u * w + 1u < start + n) {
        hi_bits = f16_bits(new_rows[src + 2u * w + 1u - start]);
    }
    cache[w] = lo_bits | (hi_bits << 16u);
}
