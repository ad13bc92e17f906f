//! Dequantization and quantization of the ggml block formats.
