//! Wire encoders: domain events as clients hear them.

pub mod dialect;
pub mod native;
