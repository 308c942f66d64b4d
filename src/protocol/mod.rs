//! The MySQL client protocol (server side), on mysql_common types plus hand-written encoders.
//! No other module writes packets to clients.

pub mod auth;
pub mod binary;
pub mod conn;
pub mod handshake;
pub mod packet;
pub mod security;
pub mod stream;
pub mod wire;
pub mod writer;

#[cfg(test)]
mod tests_auth;
