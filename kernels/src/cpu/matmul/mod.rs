//! Matrix multiplication `y = x · wᵀ` with weights stored `[n, k]`.
