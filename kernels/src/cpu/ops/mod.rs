//! Attention and the element-wise ops around matmul.
