//! stub
pub fn attention(){}
