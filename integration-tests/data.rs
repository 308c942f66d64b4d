//! A deterministic data set with NULLs, mixed-case and accented strings, decimals, datetimes.

use std::fmt::Write;

/// Small deterministic PRNG (xorshift), so every run loads the same rows.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

pub const STATUSES: &[&str] = &[
    "PAID",
    "paid",
    "Paid",
    "paid ",
    "SHIPPED",
    "shipped",
    "NEW",
    "cancelled",
    "Cancelled",
];
pub const NAMES: &[&str] = &[
    "Alice", "alice", "Bob", "bob", "Émile", "emile", "Zoë", "zoe", "Øystein", "Chloé", "chloe",
    "Åsa", "ÅSA", "Łukasz", "Straße", "strasse", "李雷", "Ann ", "ann", "Zed",
];
pub const NOTES: &[&str] = &[
    "gift wrap",
    "Gift Wrap",
    "leave at door",
    "fragile",
    "FRAGILE",
    "çà et là",
    "ça",
];
pub const USERS: u64 = 40;
pub const ORDERS: u64 = 300;
pub const ITEMS: u64 = 600;
pub const PRODUCTS: u64 = 30;

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn script() -> String {
    let mut r = Rng::new(42);
    let mut out = String::new();
    let _ = writeln!(out, "INSERT INTO t_region (region_id, name) VALUES (1,'North'),(2,'South'),(3,'East'),(4,'West');");
    let _ = writeln!(
        out,
        "INSERT INTO t_config (k, v) VALUES ('currency','EUR'),('tax_rate','0.20');"
    );
    let mut rows = Vec::new();
    for u in 1..=USERS {
        let name = *r.pick(NAMES);
        let email = if r.below(5) == 0 {
            "NULL".to_string()
        } else {
            q(&format!("u{u}@example.com"))
        };
        let region = if r.below(6) == 0 {
            "NULL".to_string()
        } else {
            (1 + r.below(4)).to_string()
        };
        let balance = format!("{}.{:02}", r.below(5000), r.below(100));
        let created = format!(
            "2026-{:02}-{:02} {:02}:{:02}:{:02}",
            1 + r.below(12),
            1 + r.below(28),
            r.below(24),
            r.below(60),
            r.below(60)
        );
        rows.push(format!(
            "({u}, {}, {email}, {region}, {balance}, '{created}')",
            q(name)
        ));
    }
    let _ = writeln!(
        out,
        "INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES {};",
        rows.join(", ")
    );
    let mut rows = Vec::new();
    for p in 1..=PRODUCTS {
        let cat = *r.pick(&["Books", "books", "Toys", "Électronique", "electronique"]);
        rows.push(format!(
            "({p}, {}, {}, {}.{:02}, {})",
            q(&format!("{} {p}", r.pick(NAMES))),
            q(cat),
            r.below(300),
            r.below(100),
            r.below(50)
        ));
    }
    let _ = writeln!(
        out,
        "INSERT INTO t_product (product_id, name, category, price, stock) VALUES {};",
        rows.join(", ")
    );
    let mut orders = Vec::new();
    for i in 0..ORDERS {
        let order_id = 1000 + i;
        let user = 1 + r.below(USERS);
        orders.push((order_id, user));
    }
    for chunk in orders.chunks(25) {
        let mut rows = Vec::new();
        for (order_id, user) in chunk {
            let status = *r.pick(STATUSES);
            let amount = format!("{}.{:02}", r.below(2000), r.below(100));
            let region = if r.below(5) == 0 {
                "NULL".to_string()
            } else {
                (1 + r.below(4)).to_string()
            };
            let created = format!(
                "2026-{:02}-{:02} {:02}:{:02}:00",
                1 + r.below(12),
                1 + r.below(28),
                r.below(24),
                r.below(60)
            );
            let note = if r.below(3) == 0 {
                q(r.pick(NOTES).as_ref())
            } else {
                "NULL".to_string()
            };
            rows.push(format!(
                "({order_id}, {user}, {}, {amount}, {region}, '{created}', {note})",
                q(status)
            ));
        }
        let _ = writeln!(out, "INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES {};", rows.join(", "));
    }
    let mut items = Vec::new();
    for i in 0..ITEMS {
        let (order_id, user) = *r.pick(&orders);
        let product = 1 + r.below(PRODUCTS);
        items.push(format!(
            "({}, {order_id}, {user}, {product}, {}, {}.{:02})",
            50000 + i,
            1 + r.below(5),
            r.below(300),
            r.below(100)
        ));
    }
    for chunk in items.chunks(50) {
        let _ = writeln!(out, "INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES {};", chunk.join(", "));
    }
    out
}
