//! stub
pub fn rms_norm(){}
pub fn layer_norm(){}