//! SQL text handling: parsing with the MySQL dialect and span-based edits.

pub mod clauses;
pub mod edit;
pub mod literal;
pub mod refs;

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::{Parser, ParserError};

pub use edit::{Edits, SourceMap};

pub fn parse(sql: &str) -> Result<Vec<Statement>, ParserError> {
    Parser::parse_sql(&MySqlDialect {}, sql)
}

/// Parse exactly one statement (a trailing `;` is allowed).
pub fn parse_one(sql: &str) -> Result<Statement, ParserError> {
    let mut v = parse(sql)?;
    match v.len() {
        1 => Ok(v.remove(0)),
        0 => Err(ParserError::ParserError("empty statement".into())),
        _ => Err(ParserError::ParserError(
            "multiple statements in one query are not supported".into(),
        )),
    }
}

/// The identifier parts of an object name (`shop.t_order` → [shop, t_order]).
pub fn name_parts(name: &ObjectName) -> Vec<&Ident> {
    name.0
        .iter()
        .filter_map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i),
            _ => None,
        })
        .collect()
}

/// Lower-cased last part of an object name.
pub fn object_base_name(name: &ObjectName) -> Option<String> {
    name_parts(name)
        .last()
        .map(|i| i.value.to_ascii_lowercase())
}

/// First word of a statement, upper-cased, skipping comments and whitespace.
pub fn first_keyword(sql: &str) -> String {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("/*") {
            // `/*!` version comments hold real SQL; keep them for the parser.
            if rest.starts_with('!') {
                break;
            }
            match rest.find("*/") {
                Some(i) => s = rest[i + 2..].trim_start(),
                None => return String::new(),
            }
        } else if s.starts_with("--") || s.starts_with('#') {
            match s.find('\n') {
                Some(i) => s = s[i + 1..].trim_start(),
                None => return String::new(),
            }
        } else {
            break;
        }
    }
    s.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_keyword_skips_comments() {
        assert_eq!(first_keyword("  /* x */ select 1"), "SELECT");
        assert_eq!(first_keyword("-- c\nXA START 'x'"), "XA");
        assert_eq!(first_keyword("begin"), "BEGIN");
    }
}

/// The statement with a trailing `LOCK IN SHARE MODE` blanked out (same length, so spans
/// still match the original text): sqlparser cannot parse that clause.
pub fn tolerant_text(sql: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = sql.trim_end().trim_end_matches(';').trim_end();
    let upper = trimmed.to_ascii_uppercase();
    const TAIL: &str = "LOCK IN SHARE MODE";
    if upper.ends_with(TAIL) {
        let start = trimmed.len() - TAIL.len();
        let mut s = sql.to_string();
        s.replace_range(start..trimmed.len(), &" ".repeat(TAIL.len()));
        return std::borrow::Cow::Owned(s);
    }
    std::borrow::Cow::Borrowed(sql)
}


/// Under sql_mode ANSI_QUOTES, `"name"` is a quoted identifier; the MySQL dialect reads it as a
/// string. Rewrite such tokens to backticks (same length, so every span stays valid); a name
/// holding a quote or backtick is left as it is.
pub fn ansi_quotes_to_backticks(sql: &str) -> std::borrow::Cow<'_, str> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    if !sql.contains('"') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let Ok(toks) = Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location() else {
        return std::borrow::Cow::Borrowed(sql);
    };
    let sm = SourceMap::new(sql);
    let mut out = sql.as_bytes().to_vec();
    for t in toks {
        if let Token::DoubleQuotedString(s) = &t.token {
            let Some(r) = sm.range(t.span) else { continue };
            let raw = &sql[r.clone()];
            if s.contains(['"', '`']) || !raw.starts_with('"') || !raw.ends_with('"') || raw.len() != s.len() + 2 {
                continue;
            }
            out[r.start] = b'`';
            out[r.end - 1] = b'`';
        }
    }
    match String::from_utf8(out) {
        Ok(s) => std::borrow::Cow::Owned(s),
        Err(_) => std::borrow::Cow::Borrowed(sql),
    }
}

#[cfg(test)]
mod ansi_tests {
    #[test]
    fn double_quoted_names_become_backticked() {
        let sql = r#"SELECT "user_id", 'it''s' FROM "t_order" WHERE "status" = 'PAID'"#;
        assert_eq!(
            super::ansi_quotes_to_backticks(sql),
            "SELECT `user_id`, 'it''s' FROM `t_order` WHERE `status` = 'PAID'"
        );
        assert_eq!(super::ansi_quotes_to_backticks(r#"SELECT "a""b""#), r#"SELECT "a""b""#);
    }
}
