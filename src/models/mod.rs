//! Model graph builders and the pieces of a generation loop around them.

pub mod generate;
pub mod llama;
pub mod sampling;
