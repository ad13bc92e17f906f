//! stub
pub fn rope(){}
