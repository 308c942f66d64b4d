//! Exact source ranges of a top-level SELECT's parts, from the tokenizer. sqlparser's spans
//! of some expressions are incomplete (`-x` starts at `x`, `SUBSTRING(s, 1, 3)` and
//! `FLOOR(x)` cover only their argument, `x IS NULL` stops before `IS`), so text that is
//! pushed down to shards is cut at token boundaries instead: select items, the end of the
//! FROM/WHERE part, GROUP BY and ORDER BY items, and function-call arguments.

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::ops::Range;

#[derive(Debug, Clone)]
struct Tok {
    /// Upper-cased word, or empty for other tokens.
    word: String,
    token: Token,
    range: Range<usize>,
    depth: usize,
}

fn tokens(sql: &str) -> Option<Vec<Tok>> {
    let toks = Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let sm = super::SourceMap::new(sql);
    let mut out = Vec::with_capacity(toks.len());
    let mut depth = 0usize;
    for t in toks {
        if matches!(t.token, Token::Whitespace(_)) {
            continue;
        }
        let range = sm.range(t.span)?;
        if t.token == Token::RParen {
            depth = depth.saturating_sub(1);
        }
        let word = match &t.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            _ => String::new(),
        };
        out.push(Tok {
            word,
            token: t.token.clone(),
            range,
            depth,
        });
        if t.token == Token::LParen {
            depth += 1;
        }
    }
    Some(out)
}

/// Keywords that end the FROM/WHERE part of a SELECT at depth 0.
const CLAUSE_END: &[&str] = &[
    "GROUP",
    "HAVING",
    "WINDOW",
    "ORDER",
    "LIMIT",
    "FOR",
    "LOCK",
    "INTO",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "PROCEDURE",
];

/// Where the parts of a top-level `SELECT ... FROM ... [WHERE ...] [GROUP BY ...] ...` are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectText {
    /// Each select item, alias included.
    pub items: Vec<Range<usize>>,
    /// Start of the FROM keyword.
    pub from: usize,
    /// End of the FROM/WHERE part (start of the next clause or end of statement).
    pub from_end: usize,
    pub group_by: Vec<Range<usize>>,
    /// ORDER BY items without their ASC/DESC.
    pub order_by: Vec<Range<usize>>,
}

fn split_commas(toks: &[Tok], depth: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut cur: Option<Range<usize>> = None;
    for t in toks {
        if t.depth == depth && t.token == Token::Comma {
            out.extend(cur.take());
            continue;
        }
        cur = Some(match cur {
            None => t.range.clone(),
            Some(r) => r.start..t.range.end,
        });
    }
    out.extend(cur);
    out
}

/// Locate the parts of the statement's top-level SELECT; `None` if it is not one.
pub fn select_text(sql: &str) -> Option<SelectText> {
    let toks = tokens(sql)?;
    let first = toks.first()?;
    if first.word != "SELECT" || first.depth != 0 {
        return None;
    }
    let top = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.depth == 0 && t.word == w);
    let from_i = (1..toks.len()).find(|&i| top(i, "FROM"))?;
    // Skip select modifiers.
    let mut s = 1;
    while s < from_i
        && matches!(
            toks[s].word.as_str(),
            "DISTINCT"
                | "ALL"
                | "DISTINCTROW"
                | "HIGH_PRIORITY"
                | "STRAIGHT_JOIN"
                | "SQL_SMALL_RESULT"
                | "SQL_BIG_RESULT"
                | "SQL_BUFFER_RESULT"
                | "SQL_CACHE"
                | "SQL_NO_CACHE"
                | "SQL_CALC_FOUND_ROWS"
        )
    {
        s += 1;
    }
    let items = split_commas(&toks[s..from_i], 0);
    let end_i = (from_i + 1..toks.len())
        .find(|&i| {
            toks[i].depth == 0
                && (CLAUSE_END.contains(&toks[i].word.as_str())
                    || toks[i].token == Token::SemiColon)
        })
        .unwrap_or(toks.len());
    let from_end = toks[..end_i].last().map(|t| t.range.end)?;
    let mut out = SelectText {
        items,
        from: toks[from_i].range.start,
        from_end,
        group_by: Vec::new(),
        order_by: Vec::new(),
    };
    // GROUP BY / ORDER BY lists run to the next clause keyword at depth 0.
    let list = |kw: &str| -> Vec<Range<usize>> {
        let Some(k) = (end_i..toks.len()).find(|&i| top(i, kw) && top(i + 1, "BY")) else {
            return Vec::new();
        };
        let start = k + 2;
        let stop = (start..toks.len())
            .find(|&i| {
                toks[i].depth == 0
                    && (matches!(
                        toks[i].word.as_str(),
                        "HAVING" | "WINDOW" | "ORDER" | "LIMIT" | "FOR" | "LOCK" | "WITH" | "INTO"
                    ) || toks[i].token == Token::SemiColon)
            })
            .unwrap_or(toks.len());
        split_commas(&toks[start..stop], 0)
    };
    out.group_by = list("GROUP");
    out.order_by = list("ORDER")
        .into_iter()
        .map(|r| strip_direction(sql, r))
        .collect();
    Some(out)
}

/// `x DESC` → `x`.
fn strip_direction(sql: &str, r: Range<usize>) -> Range<usize> {
    let text = &sql[r.clone()];
    let trimmed = text.trim_end();
    for kw in ["ASC", "DESC"] {
        let n = trimmed.len();
        let (Some(tail), Some(head)) = (
            trimmed.get(n.saturating_sub(kw.len())..),
            trimmed.get(..n.saturating_sub(kw.len())),
        ) else {
            continue;
        };
        if n > kw.len() && tail.eq_ignore_ascii_case(kw) && head.ends_with(char::is_whitespace) {
            let inner = head.trim_end();
            return r.start..r.start + inner.len();
        }
    }
    r
}

/// A select item without its alias (`a + 1 AS x` → `a + 1`, `a x` → `a`), given the alias.
pub fn without_alias(sql: &str, item: Range<usize>, alias: &str) -> Range<usize> {
    let text = &sql[item.clone()];
    let trimmed = text.trim_end();
    // The alias is the item's last token (quoted or not).
    let n = trimmed.len();
    let alias_len = [
        alias.len(),
        alias.len() + 2, // `x` / "x" / 'x'
    ]
    .into_iter()
    .find(|&l| {
        l <= n
            && trimmed.get(n - l..).is_some_and(|tail| {
                tail.trim_matches(|c| c == '`' || c == '"' || c == '\'')
                    .eq_ignore_ascii_case(alias)
            })
    });
    let Some(l) = alias_len else { return item };
    let Some(mut rest) = trimmed.get(..n - l).map(str::trim_end) else {
        return item;
    };
    let k = rest.len();
    if let (Some(kw), Some(before)) = (
        rest.get(k.saturating_sub(2)..),
        rest.get(..k.saturating_sub(2)),
    ) {
        if k >= 2 && kw.eq_ignore_ascii_case("AS") && before.ends_with(char::is_whitespace) {
            rest = before.trim_end();
        }
    }
    item.start..item.start + rest.len()
}

/// The arguments of a function call written at `call` (`f(DISTINCT a, b)`): whether DISTINCT
/// is written, and each argument's range.
pub fn call_args(sql: &str, call: Range<usize>) -> Option<(bool, Vec<Range<usize>>)> {
    let toks = tokens(&sql[call.clone()])?;
    let open = toks.iter().position(|t| t.token == Token::LParen)?;
    let close = toks.iter().rposition(|t| t.token == Token::RParen)?;
    if close <= open {
        return None;
    }
    let mut inner = &toks[open + 1..close];
    let mut distinct = false;
    if let Some(t) = inner.first() {
        if t.word == "DISTINCT" || t.word == "ALL" {
            distinct = t.word == "DISTINCT";
            inner = &inner[1..];
        }
    }
    let depth = toks[open].depth + 1;
    Some((
        distinct,
        split_commas(inner, depth)
            .into_iter()
            .map(|r| call.start + r.start..call.start + r.end)
            .collect(),
    ))
}

/// A set operator between two branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Intersect,
    Except,
}

/// A top-level `A UNION|INTERSECT|EXCEPT [ALL|DISTINCT] B ...` statement: each branch's text
/// (outer parentheses removed), each operator and whether it is ALL, and the trailing
/// ORDER BY/LIMIT part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionText {
    pub branches: Vec<Range<usize>>,
    pub all: Vec<bool>,
    /// The operator before each branch but the first.
    pub ops: Vec<SetOp>,
    /// `ORDER BY ... LIMIT ...` of the whole union (from its first keyword to the end).
    pub tail: Option<Range<usize>>,
    /// Start of the tail's LIMIT keyword, if any.
    pub limit_at: Option<usize>,
}

pub fn union_text(sql: &str) -> Option<UnionText> {
    let toks = tokens(sql)?;
    let end = toks
        .iter()
        .rposition(|t| t.token != Token::SemiColon)
        .map(|i| i + 1)?;
    let toks = &toks[..end];
    let mut cuts = Vec::new(); // (index of the operator, index after quantifier, all, op)
    for (i, t) in toks.iter().enumerate() {
        let op = match t.word.as_str() {
            _ if t.depth != 0 => continue,
            "UNION" => SetOp::Union,
            "INTERSECT" => SetOp::Intersect,
            "EXCEPT" | "MINUS" => SetOp::Except,
            _ => continue,
        };
        let q = toks.get(i + 1).map(|t| t.word.as_str());
        let all = q == Some("ALL");
        let skip = if matches!(q, Some("ALL") | Some("DISTINCT")) {
            2
        } else {
            1
        };
        cuts.push((i, i + skip, all, op));
    }
    if cuts.is_empty() {
        return None;
    }
    // The tail starts at the first top-level ORDER/LIMIT after the last UNION.
    let last = cuts.last().map(|c| c.1)?;
    let tail_i = (last..toks.len())
        .find(|&i| toks[i].depth == 0 && matches!(toks[i].word.as_str(), "ORDER" | "LIMIT"));
    let body_end = tail_i.unwrap_or(toks.len());
    let mut starts = vec![0usize];
    starts.extend(cuts.iter().map(|c| c.1));
    let mut ends: Vec<usize> = cuts.iter().map(|c| c.0).collect();
    ends.push(body_end);
    let mut branches = Vec::new();
    for (s, e) in starts.into_iter().zip(ends) {
        if s >= e {
            return None;
        }
        let (mut a, mut b) = (s, e - 1);
        // `(SELECT ...)` → `SELECT ...`
        while toks[a].token == Token::LParen
            && toks[b].token == Token::RParen
            && toks[b].depth == toks[a].depth
            && a < b
        {
            a += 1;
            b -= 1;
        }
        branches.push(toks[a].range.start..toks[b].range.end);
    }
    let tail = tail_i.map(|i| toks[i].range.start..toks[toks.len() - 1].range.end);
    let limit_at = tail_i.and_then(|i| {
        (i..toks.len())
            .find(|&j| toks[j].depth == 0 && toks[j].word == "LIMIT")
            .map(|j| toks[j].range.start)
    });
    Some(UnionText {
        branches,
        all: cuts.iter().map(|c| c.2).collect(),
        ops: cuts.iter().map(|c| c.3).collect(),
        tail,
        limit_at,
    })
}

/// The parenthesised group that starts at or after `from` (skipping whitespace and comments
/// before the `(`): the range of its contents, without the parentheses.
pub fn paren_group(sql: &str, from: usize) -> Option<Range<usize>> {
    let toks = tokens(sql.get(from..)?)?;
    let open = toks.first().filter(|t| t.token == Token::LParen)?;
    let depth = open.depth;
    let close = toks[1..]
        .iter()
        .find(|t| t.token == Token::RParen && t.depth == depth)?;
    Some(from + open.range.end..from + close.range.start)
}

/// The `(` that opens the group containing position `inner` (the last unclosed `(` before it).
pub fn open_paren_before(sql: &str, inner: usize) -> Option<usize> {
    let toks = tokens(sql.get(..inner)?)?;
    let mut stack = Vec::new();
    for t in &toks {
        match t.token {
            Token::LParen => stack.push(t.range.start),
            Token::RParen => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(sql: &'a str, v: &[Range<usize>]) -> Vec<&'a str> {
        v.iter().map(|r| &sql[r.clone()]).collect()
    }

    #[test]
    fn select_parts_by_tokens() {
        let sql = "SELECT DISTINCT -price, SUBSTRING(s, 1, 3) AS x, FLOOR(p) y, COUNT(*) FROM t WHERE a IS NOT NULL AND (b = 1 OR c IN (2, 3)) GROUP BY -price, 2 ORDER BY FLOOR(p) DESC, x LIMIT 3";
        let t = select_text(sql).unwrap();
        assert_eq!(
            texts(sql, &t.items),
            vec![
                "-price",
                "SUBSTRING(s, 1, 3) AS x",
                "FLOOR(p) y",
                "COUNT(*)"
            ]
        );
        assert_eq!(
            &sql[t.from..t.from_end],
            "FROM t WHERE a IS NOT NULL AND (b = 1 OR c IN (2, 3))"
        );
        assert_eq!(texts(sql, &t.group_by), vec!["-price", "2"]);
        assert_eq!(texts(sql, &t.order_by), vec!["FLOOR(p)", "x"]);
        assert_eq!(
            &sql[without_alias(sql, t.items[1].clone(), "x")],
            "SUBSTRING(s, 1, 3)"
        );
        assert_eq!(
            &sql[without_alias(sql, t.items[2].clone(), "y")],
            "FLOOR(p)"
        );
        let sql2 = "SELECT COUNT(*) FROM t_user WHERE NOT (region_id = 2);";
        let t2 = select_text(sql2).unwrap();
        assert_eq!(
            &sql2[t2.from..t2.from_end],
            "FROM t_user WHERE NOT (region_id = 2)"
        );
        assert!(select_text("UPDATE t SET a = 1").is_none());
    }

    #[test]
    fn union_parts() {
        let sql = "SELECT a FROM t WHERE x IN (SELECT 1 UNION SELECT 2) UNION ALL (SELECT b FROM u) UNION SELECT c FROM v ORDER BY 1 DESC LIMIT 3;";
        let u = union_text(sql).unwrap();
        assert_eq!(
            texts(sql, &u.branches),
            vec![
                "SELECT a FROM t WHERE x IN (SELECT 1 UNION SELECT 2)",
                "SELECT b FROM u",
                "SELECT c FROM v"
            ]
        );
        assert_eq!(u.all, vec![true, false]);
        assert_eq!(&sql[u.tail.clone().unwrap()], "ORDER BY 1 DESC LIMIT 3");
        assert_eq!(&sql[u.limit_at.unwrap()..u.limit_at.unwrap() + 5], "LIMIT");
        assert!(union_text("SELECT 1").is_none());
    }

    #[test]
    fn parenthesised_groups() {
        let sql = "SELECT 1 FROM t WHERE a IN ( SELECT b FROM u WHERE c = ')' AND d IN (1) ) AND e";
        let inner = sql.find("SELECT b").unwrap();
        let open = open_paren_before(sql, inner).unwrap();
        let r = paren_group(sql, open).unwrap();
        assert_eq!(&sql[r], " SELECT b FROM u WHERE c = ')' AND d IN (1) ");
    }

    #[test]
    fn call_arguments() {
        let sql = "x + COUNT(DISTINCT FLOOR(price), SUBSTRING(a, 1, 2)) - 1";
        let (d, args) = call_args(sql, 4..52).unwrap();
        assert!(d);
        assert_eq!(
            texts(sql, &args),
            vec!["FLOOR(price)", "SUBSTRING(a, 1, 2)"]
        );
        let (d, args) = call_args("SUM(-x)", 0..7).unwrap();
        assert!(!d);
        assert_eq!(texts("SUM(-x)", &args), vec!["-x"]);
    }
}
