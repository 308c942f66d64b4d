//! SQL text handling: parsing with the MySQL dialect and span-based edits.

pub mod binlit;
pub mod classify;
pub mod clauses;
pub mod edit;
pub mod fingerprint;
pub mod hints;
pub mod literal;
pub mod refs;
pub mod scan;
pub mod template;
mod tolerant;

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
        1 => {
            let mut stmt = v.remove(0);
            tolerant::restore_names(sql, &mut stmt);
            Ok(stmt)
        }
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

/// The lower-cased words (identifiers and keywords) of a SQL text, in order.
pub fn words(sql: &str) -> Vec<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize()
        .map(|toks| {
            toks.into_iter()
                .filter_map(|t| match t {
                    Token::Word(w) => Some(w.value.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// First word of a statement, upper-cased, skipping comments and whitespace.
/// A function call's name as the server resolves built-in functions: an unqualified name,
/// quoted or not (`` `GET_LOCK`(...) `` calls GET_LOCK), lower-cased; and whether it was
/// backtick-quoted. A qualified name (`db.f`) names a stored function: returned whole.
pub fn function_name(name: &sqlparser::ast::ObjectName) -> (String, bool) {
    match name.0.as_slice() {
        [sqlparser::ast::ObjectNamePart::Identifier(i)] => {
            (i.value.to_ascii_lowercase(), i.quote_style.is_some())
        }
        _ => (name.to_string().to_ascii_lowercase(), false),
    }
}

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

pub use tolerant::tolerant_text;

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
            if s.contains(['"', '`'])
                || !raw.starts_with('"')
                || !raw.ends_with('"')
                || raw.len() != s.len() + 2
            {
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
        assert_eq!(
            super::ansi_quotes_to_backticks(r#"SELECT "a""b""#),
            r#"SELECT "a""b""#
        );
    }
}

/// Stand-in for a backslash inside string literals under NO_BACKSLASH_ESCAPES (one byte, so
/// spans stay valid): the MySQL dialect would read `\'` as an escaped quote.
pub const NBE_BACKSLASH: char = '\u{1F}';

/// Under sql_mode NO_BACKSLASH_ESCAPES a backslash in a string is an ordinary character.
/// Replace those backslashes by [`NBE_BACKSLASH`] for parsing (same length); the SQL sent to
/// the shards keeps the client's text (the shards run with the same sql_mode).
pub fn nbe_for_parsing(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('\\') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let b = sql.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    if b[i] == b'\\' && q != b'`' {
                        out[i] = NBE_BACKSLASH as u8;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    match String::from_utf8(out) {
        Ok(s) => std::borrow::Cow::Owned(s),
        Err(_) => std::borrow::Cow::Borrowed(sql),
    }
}

/// A routing value read from text that had [`nbe_for_parsing`] applied: its stand-ins
/// are backslashes again.
pub fn restore_standin(v: crate::rules::ShardValue) -> crate::rules::ShardValue {
    match v {
        crate::rules::ShardValue::Str(b) if b.contains(&(NBE_BACKSLASH as u8)) => {
            crate::rules::ShardValue::Str(
                b.into_iter()
                    .map(|c| if c == NBE_BACKSLASH as u8 { b'\\' } else { c })
                    .collect(),
            )
        }
        other => other,
    }
}

/// Put back the backslashes [`nbe_for_parsing`] replaced, in the SQL a plan sends.
pub fn restore_backslashes(plan: &mut crate::plan::Plan) {
    for n in plan.nodes.iter_mut() {
        if n.sql.contains(NBE_BACKSLASH) {
            n.sql = n.sql.replace(NBE_BACKSLASH, "\\");
        }
    }
}

#[cfg(test)]
mod nbe_tests {
    #[test]
    fn backslashes_in_strings_are_plain_characters() {
        let sql = "SELECT 'a\\', `x\\y`, 'it''s\\' -- c\\'\nFROM t";
        let t = super::nbe_for_parsing(sql);
        assert_eq!(t.len(), sql.len());
        assert_eq!(t, "SELECT 'a\u{1F}', `x\\y`, 'it''s\u{1F}' -- c\\'\nFROM t");
        assert!(super::parse_one(&t).is_ok());
    }
}
