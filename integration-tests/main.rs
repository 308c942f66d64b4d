//! Integration tests against real MariaDB servers: shards behind the proxy, plus one unsharded
//! "oracle" server holding the same rows. Results must be identical.

mod data;
mod diff;
mod hardening;
mod harness;

mod aggregates;
mod branches;
mod dml;
mod faults;
mod fuzz;
mod golden;
mod insert_select;
mod isolation;
mod joins;
mod keys;
mod protection;
mod protocol;
mod protofuzz;
mod queries;
mod rawclient;
mod reload;
mod reshard;
mod security;
mod session;
mod subqueries;
mod tls;
mod values;
mod xa;
