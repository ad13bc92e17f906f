//! Attention.
/// A KV cache.
pub enum KvCache<'a> {
    F32(&'a [f32]),
    F16(&'a [half::f16]),
}
pub fn attention() {}
