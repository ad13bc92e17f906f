//! stub
pub fn binary(){}
