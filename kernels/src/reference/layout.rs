//! stub
pub fn get_rows(){}
pub fn kv_write(){}
pub fn permute(){}
