//! Reference kernels: obviously correct, accumulating in f64. The oracle for every backend.
