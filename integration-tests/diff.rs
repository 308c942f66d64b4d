//! Differential comparison: the same statement on the proxy and on the oracle.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Col {
    pub schema: String,
    pub table: String,
    pub org_table: String,
    pub name: String,
    pub org_name: String,
    pub column_type: String,
    pub decimals: u8,
    pub charset: u16,
    pub flags: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub columns: Vec<Col>,
    pub rows: Vec<Vec<Value>>,
    pub affected: u64,
}

pub type Outcome = Result<Answer, (u16, String)>;

fn col(c: &mysql_async::Column) -> Col {
    Col {
        schema: c.schema_str().into_owned(),
        table: c.table_str().into_owned(),
        org_table: c.org_table_str().into_owned(),
        name: c.name_str().into_owned(),
        org_name: c.org_name_str().into_owned(),
        column_type: format!("{:?}", c.column_type()),
        decimals: c.decimals(),
        charset: c.character_set(),
        flags: c.flags().bits(),
    }
}

fn err(e: mysql_async::Error) -> (u16, String) {
    match e {
        mysql_async::Error::Server(s) => (s.code, s.message),
        other => (0, other.to_string()),
    }
}

/// Run through the text protocol.
pub async fn text(conn: &mut Conn, sql: &str) -> Outcome {
    let mut res = conn.query_iter(sql).await.map_err(err)?;
    let columns: Vec<Col> = res
        .columns()
        .map(|c| c.iter().map(col).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    while let Some(r) = res.next().await.map_err(err)? {
        rows.push(r.unwrap());
    }
    let affected = res.affected_rows();
    res.drop_result().await.map_err(err)?;
    Ok(Answer {
        columns,
        rows,
        affected,
    })
}

/// Run as a prepared statement (binary protocol).
pub async fn binary(conn: &mut Conn, sql: &str, params: Vec<Value>) -> Outcome {
    let stmt = conn.prep(sql).await.map_err(err)?;
    let mut res = conn
        .exec_iter(&stmt, Params::Positional(params))
        .await
        .map_err(err)?;
    let columns: Vec<Col> = res
        .columns()
        .map(|c| c.iter().map(col).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    while let Some(r) = res.next().await.map_err(err)? {
        rows.push(r.unwrap());
    }
    let affected = res.affected_rows();
    res.drop_result().await.map_err(err)?;
    conn.close(stmt).await.map_err(err)?;
    Ok(Answer {
        columns,
        rows,
        affected,
    })
}

fn show(v: &Value) -> String {
    match v {
        Value::Bytes(b) => format!("'{}'", String::from_utf8_lossy(b)),
        other => format!("{other:?}"),
    }
}

fn show_rows(rows: &[Vec<Value>]) -> String {
    rows.iter()
        .take(12)
        .map(|r| r.iter().map(show).collect::<Vec<_>>().join(" | "))
        .collect::<Vec<_>>()
        .join("\n      ")
}

/// Compare; `ordered` = the statement fixes the row order completely.
pub fn compare(proxy: &Outcome, oracle: &Outcome, ordered: bool) -> Result<(), String> {
    match (proxy, oracle) {
        (Err((a, am)), Err((b, _))) if a == b => {
            let _ = am;
            Ok(())
        }
        (Err((a, am)), Err((b, bm))) => Err(format!(
            "different errors: proxy {a} {am} / oracle {b} {bm}"
        )),
        (Err((a, am)), Ok(_)) => Err(format!("proxy error {a}: {am}")),
        (Ok(_), Err((b, bm))) => Err(format!("oracle error {b}: {bm}, proxy succeeded")),
        (Ok(p), Ok(o)) => {
            if p.columns != o.columns {
                return Err(format!(
                    "columns differ:\n   proxy  {:?}\n   oracle {:?}",
                    p.columns, o.columns
                ));
            }
            if p.affected != o.affected {
                return Err(format!(
                    "affected rows differ: proxy {} oracle {}",
                    p.affected, o.affected
                ));
            }
            let (mut pr, mut or) = (p.rows.clone(), o.rows.clone());
            if !ordered {
                let key = |r: &Vec<Value>| {
                    r.iter()
                        .map(|v| format!("{v:?}"))
                        .collect::<Vec<_>>()
                        .join("\u{1}")
                };
                pr.sort_by_key(key);
                or.sort_by_key(key);
            }
            if pr != or {
                return Err(format!(
                    "rows differ ({} vs {}):\n   proxy  {}\n   oracle {}",
                    pr.len(),
                    or.len(),
                    show_rows(&pr),
                    show_rows(&or)
                ));
            }
            Ok(())
        }
    }
}

/// Connect to both sides.
pub async fn connect(ep: &crate::harness::Endpoints) -> (Conn, Conn) {
    let p = Conn::from_url(ep.proxy_url()).await.expect("connect proxy");
    let o = Conn::from_url(ep.oracle_url())
        .await
        .expect("connect oracle");
    (p, o)
}

/// One differential case.
#[derive(Debug, Clone)]
pub struct Case {
    pub sql: &'static str,
    pub ordered: bool,
    pub params: Vec<Value>,
    /// Ignore key flags (see [`mask_key_flags`]).
    pub loose_keys: bool,
    /// Ignore also the flags a shard's temporary table changes (see [`mask_temp_flags`]).
    pub temp_flags: bool,
}

pub fn ordered(sql: &'static str) -> Case {
    Case {
        sql,
        ordered: true,
        params: Vec::new(),
        loose_keys: false,
        temp_flags: false,
    }
}

pub fn unordered(sql: &'static str) -> Case {
    Case {
        sql,
        ordered: false,
        params: Vec::new(),
        loose_keys: false,
        temp_flags: false,
    }
}

impl Case {
    pub fn with(mut self, params: Vec<Value>) -> Case {
        self.params = params;
        self
    }

    pub fn loose_keys(mut self) -> Case {
        self.loose_keys = true;
        self
    }

    pub fn temp_flags(mut self) -> Case {
        self.temp_flags = true;
        self
    }
}

/// Key flags (PRI_KEY, UNIQUE_KEY, MULTIPLE_KEY, PART_KEY) describe where the server's plan
/// read a column: a join sorted or grouped through a temporary table reports none. A join the
/// proxy runs on shards is planned differently from one server's (other table sizes), so
/// these bits may differ there; everything else must not.
/// Key flags, BINARY, NO_DEFAULT_VALUE (0x1000) and NUM (0x8000): what MariaDB changes
/// when a DISTINCT or GROUP BY goes through a temporary table — on the shards, and on one
/// server only when its plan needs one (the fuzzer's `TempTableQuirks`).
pub fn mask_temp_flags(o: Outcome) -> Outcome {
    o.map(|mut a| {
        for c in &mut a.columns {
            c.flags &= !(0x2 | 0x4 | 0x8 | 0x80 | 0x1000 | 0x4000 | 0x8000);
        }
        a
    })
}

/// Also BINARY (0x80) of a binary-charset (numeric) column, which a temporary table in the
/// plan may add.
pub fn mask_key_flags(o: Outcome) -> Outcome {
    o.map(|mut a| {
        for c in &mut a.columns {
            c.flags &= !(0x2 | 0x4 | 0x8 | 0x4000);
            if c.charset == 63 {
                c.flags &= !0x80;
            }
        }
        a
    })
}

/// Run every case through both protocols on both sides; panic with all mismatches.
pub async fn check_all(proxy: &mut Conn, oracle: &mut Conn, cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        let mask = |o: Outcome| match (c.temp_flags, c.loose_keys) {
            (true, _) => mask_temp_flags(o),
            (_, true) => mask_key_flags(o),
            _ => o,
        };
        if c.params.is_empty() {
            let p = mask(text(proxy, c.sql).await);
            let o = mask(text(oracle, c.sql).await);
            if let Err(e) = compare(&p, &o, c.ordered) {
                failures.push(format!("[text] {}\n   {e}", c.sql));
            }
        }
        let p = mask(binary(proxy, c.sql, c.params.clone()).await);
        let o = mask(binary(oracle, c.sql, c.params.clone()).await);
        if let Err(e) = compare(&p, &o, c.ordered) {
            failures.push(format!("[prepared] {} {:?}\n   {e}", c.sql, c.params));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
