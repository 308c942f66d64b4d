//! SQL that MariaDB accepts and sqlparser cannot read, made readable without moving a byte:
//! every span of the parse still points at the same text of the original statement, and the
//! backends always get the original.

use sqlparser::ast::{Expr, Ident, ObjectNamePart, Statement, VisitMut, VisitorMut};
use sqlparser::dialect::MySqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::borrow::Cow;
use std::ops::ControlFlow;

/// Stands for the `INTERVAL(N, N1, ...)` function, which sqlparser reads as the start of an
/// interval literal. Same length as `INTERVAL`; [`restore_names`] renames it back.
const INTERVAL_FN: &str = "INTERVL_";

/// The statement made readable for sqlparser, same length:
/// - a trailing `LOCK IN SHARE MODE` blanked out;
/// - the function `INTERVAL(N, N1, ...)` (a parenthesised list with a comma at its top
///   level, which an interval literal such as `INTERVAL (1 + 1) DAY` never has) renamed.
pub fn tolerant_text(sql: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(sql);
    let trimmed = sql.trim_end().trim_end_matches(';').trim_end();
    const TAIL: &str = "LOCK IN SHARE MODE";
    if trimmed.len() >= TAIL.len()
        && trimmed
            .get(trimmed.len() - TAIL.len()..)
            .is_some_and(|t| t.eq_ignore_ascii_case(TAIL))
    {
        let start = trimmed.len() - TAIL.len();
        out.to_mut()
            .replace_range(start..trimmed.len(), &" ".repeat(TAIL.len()));
    }
    for at in interval_functions(sql) {
        out.to_mut()
            .replace_range(at..at + INTERVAL_FN.len(), INTERVAL_FN);
    }
    out
}

/// Byte offsets of each `INTERVAL` keyword that starts the function form.
fn interval_functions(sql: &str) -> Vec<usize> {
    let upper_has = sql.len() >= 8
        && sql
            .as_bytes()
            .windows(8)
            .any(|w| w.eq_ignore_ascii_case(b"INTERVAL"));
    // A text that already holds the stand-in is left alone (it would be renamed too).
    let holds_stand_in = sql
        .as_bytes()
        .windows(INTERVAL_FN.len())
        .any(|w| w.eq_ignore_ascii_case(INTERVAL_FN.as_bytes()));
    if !upper_has || holds_stand_in {
        return Vec::new();
    }
    let Ok(toks) = Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location() else {
        return Vec::new();
    };
    let sm = super::SourceMap::new(sql);
    let significant: Vec<_> = toks
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let mut out = Vec::new();
    for (i, t) in significant.iter().enumerate() {
        let Token::Word(w) = &t.token else { continue };
        if w.keyword != Keyword::INTERVAL || w.quote_style.is_some() {
            continue;
        }
        if !matches!(
            significant.get(i + 1).map(|t| &t.token),
            Some(Token::LParen)
        ) {
            continue;
        }
        let mut depth = 0usize;
        let mut comma = false;
        for n in &significant[i + 1..] {
            match n.token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Token::Comma if depth == 1 => comma = true,
                _ => {}
            }
        }
        let Some(r) = sm.range(t.span) else { continue };
        if comma && r.len() == INTERVAL_FN.len() {
            out.push(r.start);
        }
    }
    out
}

/// Give functions renamed by [`tolerant_text`] their own names again in the parse.
pub(super) fn restore_names(sql: &str, stmt: &mut Statement) {
    if !sql.contains(INTERVAL_FN) {
        return;
    }
    struct Rename;
    impl VisitorMut for Rename {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = e {
                if let [ObjectNamePart::Identifier(id)] = f.name.0.as_mut_slice() {
                    if id.quote_style.is_none() && id.value == INTERVAL_FN {
                        *id = Ident::with_span(id.span, "INTERVAL");
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = stmt.visit(&mut Rename);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_texts_keep_their_length_and_parse() {
        let cases: &[(&str, &str)] = &[
            (
                "SELECT * FROM t WHERE a=1 LOCK IN SHARE MODE;",
                "SELECT * FROM t WHERE a=1                   ;",
            ),
            (
                "SELECT INTERVAL(5, 1, 3, 10), interval (a, (1), 2) FROM t",
                "SELECT INTERVL_(5, 1, 3, 10), INTERVL_ (a, (1), 2) FROM t",
            ),
            // Interval literals stay as they are.
            (
                "SELECT NOW() + INTERVAL (1 + 1) DAY, NOW() - INTERVAL 2 HOUR",
                "SELECT NOW() + INTERVAL (1 + 1) DAY, NOW() - INTERVAL 2 HOUR",
            ),
            // In a string or a quoted name: not the function.
            (
                "SELECT 'INTERVAL(1, 2)', `INTERVAL`(1, 2)",
                "SELECT 'INTERVAL(1, 2)', `INTERVAL`(1, 2)",
            ),
        ];
        for (sql, want) in cases {
            let t = tolerant_text(sql);
            assert_eq!(t, *want, "{sql}");
            assert_eq!(t.len(), sql.len());
        }
        let stmt = crate::sql::parse_one(&tolerant_text(
            "SELECT INTERVAL(a, 1, 2) AS i FROM t ORDER BY INTERVAL(b, 3, 4)",
        ))
        .unwrap();
        assert_eq!(
            stmt.to_string(),
            "SELECT INTERVAL(a, 1, 2) AS i FROM t ORDER BY INTERVAL(b, 3, 4)"
        );
        // A function the client named like the stand-in is left alone.
        assert_eq!(
            tolerant_text("SELECT INTERVL_(1, 2), INTERVAL(1, 2)"),
            "SELECT INTERVL_(1, 2), INTERVAL(1, 2)"
        );
    }
}
