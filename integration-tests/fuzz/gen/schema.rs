//! The example schema as the generator sees it: tables, columns, value pools, and the real
//! sharding keys read from the oracle.

use crate::data::{NAMES, NOTES, STATUSES};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Dec,
    Str,
    Time,
}

#[derive(Clone, Copy, Debug)]
pub enum Pool {
    Int(i64, i64),
    /// Two decimals below this.
    Dec(i64),
    Str(&'static [&'static str]),
    Email,
    Product,
    Time,
}

pub struct ColDef {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    pub pool: Pool,
    /// A sharding column of the table.
    pub shard: bool,
    /// Few distinct values: a good GROUP BY / DISTINCT column.
    pub low: bool,
}

pub struct TableDef {
    pub name: &'static str,
    pub alias: &'static str,
    pub pk: &'static str,
    pub names: &'static [&'static str],
    pub cols: &'static [ColDef],
}

const fn c(
    name: &'static str,
    kind: Kind,
    nullable: bool,
    pool: Pool,
    shard: bool,
    low: bool,
) -> ColDef {
    ColDef {
        name,
        kind,
        nullable,
        pool,
        shard,
        low,
    }
}

pub const CATEGORIES: &[&str] = &["Books", "books", "Toys", "Électronique", "electronique"];
pub const REGIONS: &[&str] = &["North", "South", "East", "West"];

use Kind::*;
pub static TABLES: &[TableDef] = &[
    TableDef {
        name: "t_order",
        alias: "o",
        pk: "order_id",
        names: &[
            "order_id",
            "user_id",
            "status",
            "amount",
            "region_id",
            "created_at",
            "note",
        ],
        cols: &[
            c("order_id", Int, false, Pool::Int(1000, 1299), true, false),
            c("user_id", Int, false, Pool::Int(1, 40), true, true),
            c("status", Str, false, Pool::Str(STATUSES), false, true),
            c("amount", Dec, false, Pool::Dec(2000), false, false),
            c("region_id", Int, true, Pool::Int(1, 4), false, true),
            c("created_at", Time, false, Pool::Time, false, false),
            c("note", Str, true, Pool::Str(NOTES), false, true),
        ],
    },
    TableDef {
        name: "t_user",
        alias: "u",
        pk: "user_id",
        names: &[
            "user_id",
            "name",
            "email",
            "region_id",
            "balance",
            "created_at",
        ],
        cols: &[
            c("user_id", Int, false, Pool::Int(1, 40), true, false),
            c("name", Str, false, Pool::Str(NAMES), false, true),
            c("email", Str, true, Pool::Email, false, false),
            c("region_id", Int, true, Pool::Int(1, 4), false, true),
            c("balance", Dec, false, Pool::Dec(5000), false, false),
            c("created_at", Time, false, Pool::Time, false, false),
        ],
    },
    TableDef {
        name: "t_order_item",
        alias: "i",
        pk: "item_id",
        names: &[
            "item_id",
            "order_id",
            "user_id",
            "product_id",
            "qty",
            "price",
        ],
        cols: &[
            c("item_id", Int, false, Pool::Int(50000, 50599), false, false),
            c("order_id", Int, false, Pool::Int(1000, 1299), true, false),
            c("user_id", Int, false, Pool::Int(1, 40), true, true),
            c("product_id", Int, false, Pool::Int(1, 30), false, true),
            c("qty", Int, false, Pool::Int(1, 5), false, true),
            c("price", Dec, false, Pool::Dec(300), false, false),
        ],
    },
    TableDef {
        name: "t_product",
        alias: "p",
        pk: "product_id",
        names: &["product_id", "name", "category", "price", "stock"],
        cols: &[
            c("product_id", Int, false, Pool::Int(1, 30), true, false),
            c("name", Str, false, Pool::Product, false, false),
            c("category", Str, false, Pool::Str(CATEGORIES), false, true),
            c("price", Dec, false, Pool::Dec(300), false, false),
            c("stock", Int, false, Pool::Int(0, 49), false, true),
        ],
    },
    TableDef {
        name: "t_region",
        alias: "r",
        pk: "region_id",
        names: &["region_id", "name"],
        cols: &[
            c("region_id", Int, false, Pool::Int(1, 4), false, true),
            c("name", Str, false, Pool::Str(REGIONS), false, true),
        ],
    },
];

/// Real sharding-key combinations, read from the oracle, so that single-node predicates
/// find rows.
pub struct Keys {
    /// (order_id, user_id)
    pub orders: Vec<(i64, i64)>,
    /// (item_id, order_id, user_id)
    pub items: Vec<(i64, i64, i64)>,
}

impl Keys {
    pub async fn load(conn: &mut Conn) -> Keys {
        let orders = conn
            .query("SELECT order_id, user_id FROM t_order ORDER BY order_id")
            .await
            .expect("order keys");
        let items = conn
            .query("SELECT item_id, order_id, user_id FROM t_order_item ORDER BY item_id")
            .await
            .expect("item keys");
        Keys { orders, items }
    }
}
