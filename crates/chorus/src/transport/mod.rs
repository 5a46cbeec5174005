//! The doors into Chorus: Socket.IO commands, REST routes and the server API. They
//! parse, authenticate, authorize, call one service function and map its result.

pub mod commands;
pub mod contract;
pub mod http;
pub mod socket;
