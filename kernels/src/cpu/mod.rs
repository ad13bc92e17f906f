//! Fast CPU kernels: runtime-dispatched SIMD, multi-threaded.
