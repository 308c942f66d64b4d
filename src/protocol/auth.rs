//! Authentication: per-connection scramble, mysql_native_password and caching_sha2_password
//! (fast path) verified against the configured (plaintext) passwords.

use mysql_common::scramble::{scramble_native, scramble_sha256};
use rand::Rng;

pub const NATIVE: &str = "mysql_native_password";
pub const CACHING_SHA2: &str = "caching_sha2_password";

/// 20 random printable bytes (no NUL, which would end the handshake's C string).
pub fn new_scramble() -> [u8; 20] {
    let mut rng = rand::thread_rng();
    let mut s = [0u8; 20];
    for b in s.iter_mut() {
        *b = rng.gen_range(0x21u8..0x7f);
    }
    s
}

/// Does `response` prove knowledge of `password` for the given plugin and scramble?
pub fn verify(plugin: &str, scramble: &[u8], password: &str, response: &[u8]) -> bool {
    if password.is_empty() {
        return response.is_empty();
    }
    match plugin {
        NATIVE => scramble_native(scramble, password.as_bytes())
            .is_some_and(|x| constant_eq(&x, response)),
        CACHING_SHA2 => scramble_sha256(scramble, password.as_bytes())
            .is_some_and(|x| constant_eq(&x, response)),
        _ => false,
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_and_sha2() {
        let s = new_scramble();
        assert!(s.iter().all(|b| *b != 0));
        let n = scramble_native(&s, b"root").unwrap();
        assert!(verify(NATIVE, &s, "root", &n));
        assert!(!verify(NATIVE, &s, "wrong", &n));
        let c = scramble_sha256(&s, b"root").unwrap();
        assert!(verify(CACHING_SHA2, &s, "root", &c));
        assert!(!verify(NATIVE, &s, "root", &c));
        assert!(verify(NATIVE, &s, "", &[]));
        assert!(!verify(NATIVE, &s, "", &n));
    }
}
