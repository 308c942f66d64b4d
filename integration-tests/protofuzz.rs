//! A protocol fuzzer against a proxy process of its own: random and mutated packets before
//! and after login, prepared-statement commands with random ids and parameter blocks,
//! random SQL-ish text, huge declared lengths. Every command that has an answer gets one
//! (or a clean close), nothing hangs, the process never aborts or panics, and a normal
//! client is served throughout.
//!
//! `SHARDGATE_PROTOFUZZ_ITERS` (default 1500) and `SHARDGATE_PROTOFUZZ_SEED` (default 7)
//! run it longer or differently.

use crate::rawclient::{Raw, Reply};
use mysql_async::prelude::Queryable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "t_user",
    "t_order",
    "user_id",
    "=",
    "1",
    "'x'",
    "(",
    ")",
    ",",
    "OR",
    "AND",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "SHOW",
    "TABLES",
    "/*",
    "*/",
    "/*!40101",
    "/*M!",
    "--",
    "#",
    "\n",
    "'",
    "\"",
    "`",
    "\\",
    ";",
    "?",
    "@a",
    ":=",
    "UNION",
    "ORDER BY",
    "LIMIT",
    "GROUP BY",
    "COUNT(*)",
    "é",
    "ü",
    "\u{0}",
    "0x41",
    "x'41'",
    "_binary",
    "NULL",
    "IN",
    "EXISTS",
    "JOIN",
    "ON",
    "USE",
    "shop",
    "information_schema",
    "mysql.user",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "XA",
    "KILL",
    "LOAD_FILE",
    "CAST(",
    "AS",
    "CHAR",
    "DATETIME",
    "99999999999999999999999",
    "-",
    "+",
    "*",
    "1e309",
    "LIKE",
    "'%'",
];

fn sqlish(rng: &mut StdRng) -> Vec<u8> {
    let n = rng.gen_range(1..40);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
        if rng.gen_bool(0.7) {
            s.push(' ');
        }
    }
    let mut b = s.into_bytes();
    if rng.gen_bool(0.1) {
        // A few raw bytes (invalid UTF-8 too).
        for _ in 0..rng.gen_range(1..8) {
            let at = rng.gen_range(0..=b.len());
            b.insert(at, rng.gen());
        }
    }
    b
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let n = rng.gen_range(0..max);
    (0..n).map(|_| rng.gen()).collect()
}

/// A COM_STMT_EXECUTE body with a random (or the given) id and a random parameter block.
fn execute_body(rng: &mut StdRng, id: Option<[u8; 4]>) -> Vec<u8> {
    let mut b: Vec<u8> = match id {
        Some(i) if rng.gen_bool(0.8) => i.to_vec(),
        _ => rng.gen::<[u8; 4]>().to_vec(),
    };
    b.push(rng.gen_range(0..4)); // flags (cursor types)
    b.extend_from_slice(&[1, 0, 0, 0]); // iteration count
    let params = rng.gen_range(0..4);
    if rng.gen_bool(0.9) {
        b.push(rng.gen()); // null bitmap (1 byte: up to 8 params)
        b.push(1); // new params bound
        for _ in 0..params {
            let ty: u8 = *[
                0x01, 0x02, 0x03, 0x08, 0x05, 0x0f, 0xfd, 0xfe, 0x0c, 0x0a, 0x0b, 0xf6, 0x07, 0xff,
            ]
            .get(rng.gen_range(0..14))
            .unwrap_or(&0xfd);
            b.push(ty);
            b.push(if rng.gen_bool(0.2) { 0x80 } else { 0 });
        }
    }
    b.extend(random_bytes(rng, 40));
    if rng.gen_bool(0.1) {
        // A length-encoded value claiming more bytes than follow.
        b.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    }
    b
}

/// Commands that get no answer (by the protocol).
fn silent(cmd: u8) -> bool {
    matches!(cmd, 0x01 | 0x18 | 0x19)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_fuzz_never_crashes_the_proxy() {
    let iters: usize = std::env::var("SHARDGATE_PROTOFUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let seed: u64 = std::env::var("SHARDGATE_PROTOFUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let ep = crate::harness::shared();
    let dir = std::env::temp_dir().join(format!("sg-protofuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut proxy = crate::harness::start_proxy_process(&ep, &dir, 13, None).await;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", proxy.port).parse().unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut conn: Option<Raw> = None;
    let mut prepared: Option<[u8; 4]> = None;
    let mut answered = 0usize;
    for i in 0..iters {
        if i % 200 == 199 {
            // A normal client is served throughout.
            let url = format!("mysql://root:root@{addr}/shop");
            let mut c = mysql_async::Conn::from_url(url)
                .await
                .expect("normal client");
            let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM t_user").await.unwrap();
            assert!(n.is_some());
            c.disconnect().await.ok();
        }
        let case = rng.gen_range(0..100);
        if case < 8 {
            // Before login: garbage, truncated or mutated handshake responses.
            let mut r = Raw::connect_only(addr).await;
            let _ = r.read().await;
            assert!(!r.timed_out, "iteration {i}: no handshake");
            let mut payload = random_bytes(&mut rng, 200);
            if rng.gen_bool(0.5) && payload.len() > 32 {
                payload[..4].copy_from_slice(&[0x8d, 0xa6, 0x0f, 0x00]);
            }
            if rng.gen_bool(0.2) {
                r.send_bytes(&[0xff, 0xff, 0xff, 1]).await;
            } else {
                r.send(&payload).await;
            }
            let _ = r.read().await;
            continue;
        }
        let raw = match conn.as_mut() {
            Some(r) => r,
            None => {
                conn = Some(Raw::login(addr, "root", "root", Some("shop")).await);
                prepared = None;
                conn.as_mut().unwrap()
            }
        };
        let (cmd, body): (u8, Vec<u8>) = match case {
            8..=39 => (0x03, sqlish(&mut rng)),
            40..=49 => (0x16, sqlish(&mut rng)),
            50..=64 => (0x17, execute_body(&mut rng, prepared)),
            65..=69 => {
                let mut b = prepared
                    .map(|p| p.to_vec())
                    .unwrap_or_else(|| rng.gen::<[u8; 4]>().to_vec());
                b.extend_from_slice(&[rng.gen_range(0..3), 0]);
                b.extend(random_bytes(&mut rng, 64));
                (0x18, b)
            }
            70..=72 => (0x1a, rng.gen::<[u8; 4]>().to_vec()),
            73..=75 => (0x04, random_bytes(&mut rng, 30)),
            76..=78 => (0x02, random_bytes(&mut rng, 30)),
            79..=80 => (0x11, random_bytes(&mut rng, 60)),
            81..=84 => (0x1b, random_bytes(&mut rng, 3)),
            85..=89 => (rng.gen(), random_bytes(&mut rng, 50)),
            90..=93 => (0x16, b"SELECT ?, ? FROM t_user WHERE user_id = ?".to_vec()),
            94..=95 => (0x19, rng.gen::<[u8; 4]>().to_vec()),
            96 => {
                // A declared length larger than max_allowed_packet: refused, connection closed.
                raw.send_bytes(&[0xff, 0xff, 0xff, 0, 0x03]).await;
                raw.send_bytes(&vec![b' '; 0xff_ffff]).await;
                raw.send_bytes(&[0xff, 0xff, 0xff, 1, b' ']).await;
                let r = raw.reply().await;
                assert!(
                    matches!(r, Reply::Err(1153) | Reply::Closed),
                    "iteration {i}: {r:?}"
                );
                conn = None;
                continue;
            }
            97 => (0x03, b"".to_vec()),
            98 => (0x0e, Vec::new()),
            _ => (0x01, Vec::new()),
        };
        raw.command(cmd, &body).await;
        if cmd == 0x01 {
            conn = None;
            continue;
        }
        if silent(cmd) {
            continue;
        }
        let reply = match cmd {
            0x16 => match raw.prepare_reply().await {
                Ok(id) => {
                    prepared = Some(id);
                    Reply::Ok
                }
                Err(r) => r,
            },
            // COM_STATISTICS: one plain string packet.
            0x09 => match raw.read().await {
                Some(_) => Reply::Ok,
                None => Reply::Closed,
            },
            _ => raw.reply().await,
        };
        assert!(
            !raw.timed_out,
            "iteration {i}: no answer to command {cmd:#04x} {:?}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
        match reply {
            // Only protocol violations (a bad COM_CHANGE_USER, an empty packet) end the
            // connection; a hang shows up as a timeout, which fails below.
            Reply::Closed => conn = None,
            _ => answered += 1,
        }
        if matches!(cmd, 0x11 | 0x1b) || matches!(reply, Reply::Other(0xfe)) {
            // After COM_CHANGE_USER (an auth switch waits for an answer) start over.
            conn = None;
        }
    }
    assert!(answered > iters / 3, "answered {answered} of {iters}");
    // The process is alive, served a normal client, and never panicked.
    assert!(
        proxy.child.try_wait().unwrap().is_none(),
        "the proxy process exited"
    );
    let url = format!("mysql://root:root@{addr}/shop");
    let mut c = mysql_async::Conn::from_url(url)
        .await
        .expect("normal client at the end");
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM t_user").await.unwrap();
    assert!(n.is_some());
    proxy.child.kill().await.ok();
    let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "the proxy panicked:\n{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
