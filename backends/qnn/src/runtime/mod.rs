//! The QNN C API through `libloading` (being written).
