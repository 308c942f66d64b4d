//! The one scanner for raw client SQL: quotes, comments and version comments, read exactly
//! as the server reads them.
//!
//! [`scan`] turns what a client sent into the text every later step works on (classifying,
//! parsing, templates, rewriting) and that the backends receive:
//!
//! - ordinary comments (`/* */`, `#`, `-- `) become a single space;
//! - version comments (`/*! */`, `/*!NNNNN */`, `/*!NNNNNN */`, `/*M! */`, `/*M!NNNNNN */`)
//!   are resolved: when the server would execute their content, the content stays in place
//!   (so it is parsed and routed like the rest); otherwise the whole comment becomes a space;
//! - optimizer hints (`/*+ ... */`) are comments too (MariaDB 10.11 ignores them; the proxy
//!   reads the ones it honours from the client's own text);
//! - `--` directly followed by a non-ASCII byte is refused (its reading depends on the
//!   server's character tables);
//! - quoted strings and names are copied byte for byte;
//! - the text is split into statements at `;` outside quotes and comments.
//!
//! Only ASCII bytes are ever looked at or cut at, so multibyte text cannot be split inside a
//! character. A comment or quote left open is a syntax error, as on the server.

use std::ops::Range;

/// How the server reads the text: its version (for version comments) and the session's
/// sql_mode bits that change quoting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanMode {
    /// Server version as MariaDB numbers it in comments: 10.11.19 → 101119.
    pub version: u32,
    /// MariaDB (`/*M!` executes; five-digit MySQL versions from 5.7 on do not).
    pub mariadb: bool,
    pub no_backslash_escapes: bool,
    pub ansi_quotes: bool,
}

impl Default for ScanMode {
    fn default() -> ScanMode {
        ScanMode {
            version: 101100,
            mariadb: true,
            no_backslash_escapes: false,
            ansi_quotes: false,
        }
    }
}

impl ScanMode {
    /// The version number of `(major, minor, patch)`.
    pub fn version_id(v: (u16, u16, u16)) -> u32 {
        u32::from(v.0) * 10000 + u32::from(v.1) * 100 + u32::from(v.2)
    }
}

/// What the scanner found wrong: the server answers these with a syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// A string, quoted name, comment or version comment that never ends.
    Unterminated(&'static str),
    /// Text whose reading depends on character classes the proxy does not model.
    Ambiguous(&'static str),
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Unterminated(what) => write!(f, "unterminated {what}"),
            ScanError::Ambiguous(what) => write!(f, "ambiguous {what}"),
        }
    }
}

/// A client's text as the server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub text: String,
    /// Each statement's bytes in `text` (trimmed, without the `;`), empty ones left out.
    pub statements: Vec<Range<usize>>,
    /// An upper bound of how deep the statement's expression trees can nest: the longest
    /// run of operators between commas at one parenthesis level, plus the deepest
    /// parenthesis nesting. (`a = 1 OR a = 2 OR ...` nests one level per operator; values
    /// of a long IN list or of many INSERT rows do not.)
    pub depth: usize,
}

/// Counts operators per parenthesis level for [`Scanned::depth`].
#[derive(Default)]
struct Depth {
    /// Operators since the last comma, per open parenthesis level.
    runs: Vec<usize>,
    max_run: usize,
    max_parens: usize,
}

impl Depth {
    fn op(&mut self) {
        if self.runs.is_empty() {
            self.runs.push(0);
        }
        if let Some(r) = self.runs.last_mut() {
            *r += 1;
            self.max_run = self.max_run.max(*r);
        }
    }
    fn open(&mut self) {
        if self.runs.is_empty() {
            self.runs.push(0);
        }
        self.runs.push(0);
        self.max_parens = self.max_parens.max(self.runs.len() - 1);
    }
    fn close(&mut self) {
        if self.runs.len() > 1 {
            self.runs.pop();
        }
    }
    fn comma(&mut self) {
        if let Some(r) = self.runs.last_mut() {
            *r = 0;
        }
    }
    fn value(&self) -> usize {
        self.max_run + self.max_parens
    }
}

const OPERATOR_WORDS: &[&[u8]] = &[
    b"or", b"and", b"xor", b"div", b"mod", b"not", b"like", b"is",
];

impl Scanned {
    /// The only statement, if there is exactly one.
    pub fn single(&self) -> Option<&str> {
        match self.statements.as_slice() {
            [r] => self.text.get(r.clone()),
            _ => None,
        }
    }
}

fn is_space_or_control(b: u8) -> bool {
    b <= b' ' || b == 0x7f
}

/// Scan a client's SQL text (see the module documentation).
pub fn scan(sql: &str, mode: &ScanMode) -> Result<Scanned, ScanError> {
    let b = sql.as_bytes();
    let n = b.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let mut cuts: Vec<usize> = Vec::new();
    let mut in_exec = false;
    let mut depth = Depth::default();
    let mut i = 0;
    while i < n {
        let c = b[i];
        match c {
            b'\'' | b'"' | b'`' => {
                let end = quoted_end(b, i, mode)?;
                out.extend_from_slice(&b[i..end]);
                i = end;
            }
            b'#' => {
                i = line_end(b, i);
                out.push(b' ');
            }
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|&x| is_space_or_control(x)) =>
            {
                i = line_end(b, i);
                out.push(b' ');
            }
            b'-' if b.get(i + 1) == Some(&b'-') && b.get(i + 2).is_some_and(|&x| x >= 0x80) => {
                // Whether the server takes `--` before a non-ASCII character as a comment
                // depends on its character tables: refused rather than guessed.
                return Err(ScanError::Ambiguous(
                    "'--' followed by a non-ASCII character (a comment needs a space after '--')",
                ));
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let maria = b.get(i + 2) == Some(&b'M') && b.get(i + 3) == Some(&b'!');
                if b.get(i + 2) == Some(&b'!') || maria {
                    let start = i + if maria { 4 } else { 3 };
                    let (digits, version) = version_digits(b, start);
                    if in_exec {
                        // A version comment inside another: the server takes the marker and
                        // goes on; the first `*/` ends both.
                        i = start + digits;
                        out.push(b' ');
                        continue;
                    }
                    if executes(maria, digits, version, mode) {
                        in_exec = true;
                        i = start + digits;
                        out.push(b' ');
                    } else {
                        i = comment_end(b, i + 2).ok_or(ScanError::Unterminated("comment"))?;
                        out.push(b' ');
                    }
                } else {
                    // Plain comments and `/*+ ... */` optimizer hints (comments to MariaDB
                    // 10.11; the proxy reads the hints it honours from the client's text).
                    i = comment_end(b, i + 2).ok_or(ScanError::Unterminated("comment"))?;
                    out.push(b' ');
                }
            }
            b'*' if in_exec && b.get(i + 1) == Some(&b'/') => {
                in_exec = false;
                i += 2;
                out.push(b' ');
            }
            b';' => {
                cuts.push(out.len());
                out.push(b';');
                i += 1;
            }
            b'(' | b')' | b',' | b'+' | b'-' | b'*' | b'/' | b'%' | b'|' | b'&' | b'^' | b'='
            | b'<' | b'>' | b'!' | b'~' => {
                match c {
                    b'(' => depth.open(),
                    b')' => depth.close(),
                    b',' => depth.comma(),
                    _ => depth.op(),
                }
                out.push(c);
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                // A whole word (identifier, keyword, or non-ASCII name): copied as it is.
                let end = b[i..]
                    .iter()
                    .position(|&x| {
                        !(x.is_ascii_alphanumeric() || x == b'_' || x == b'$' || x >= 0x80)
                    })
                    .map_or(n, |k| i + k);
                let word = &b[i..end];
                if word.len() <= 4 && OPERATOR_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
                    depth.op();
                }
                out.extend_from_slice(word);
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    if in_exec {
        return Err(ScanError::Unterminated("version comment"));
    }
    // Only whole ASCII-delimited regions were removed or copied, so this is still UTF-8.
    let text = String::from_utf8(out).map_err(|_| ScanError::Unterminated("text"))?;
    let mut statements = Vec::new();
    let mut start = 0;
    for end in cuts.into_iter().chain(std::iter::once(text.len())) {
        let r = trim_range(&text, start..end);
        if !r.is_empty() {
            statements.push(r);
        }
        start = end + 1;
    }
    Ok(Scanned {
        text,
        statements,
        depth: depth.value(),
    })
}

/// Digits of a version comment's version: six (a MariaDB version), five (a MySQL one), or
/// none. Returns how many were taken and their value.
fn version_digits(b: &[u8], start: usize) -> (usize, u32) {
    let count = |k: usize| {
        b.get(start..start + k)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let k = if count(6) {
        6
    } else if count(5) {
        5
    } else {
        return (0, 0);
    };
    let v = b[start..start + k]
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    (k, v)
}

/// Whether the server executes a version comment's content. MariaDB: a five-digit version
/// is a MySQL one and runs only below 5.7 (MariaDB is not MySQL 5.7 compatible) unless
/// written `/*M!`; a six-digit version runs when it is not newer than the server. MySQL:
/// `/*M!` is a plain comment.
fn executes(maria: bool, digits: usize, version: u32, mode: &ScanMode) -> bool {
    if maria && !mode.mariadb {
        return false;
    }
    if digits == 0 {
        return true;
    }
    if version > mode.version {
        return false;
    }
    if mode.mariadb && digits == 5 && !maria {
        return version < 50700;
    }
    true
}

/// The byte after a `/* ... */` comment whose body starts at `body` (None: unterminated).
fn comment_end(b: &[u8], body: usize) -> Option<usize> {
    let mut j = body;
    while j + 1 < b.len() {
        if b[j] == b'*' && b[j + 1] == b'/' {
            return Some(j + 2);
        }
        j += 1;
    }
    None
}

/// The newline ending a `#` / `-- ` comment (kept), or the end of the text.
fn line_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&x| x == b'\n')
        .map_or(b.len(), |k| from + k)
}

/// The byte after the quoted token opening at `start`, read with the session's quoting
/// (`Quoting`); None when it never ends. The one quote reader: the scanner, SET splitting
/// and fingerprints use it.
pub(crate) fn quote_end(b: &[u8], start: usize, quoting: Quoting) -> Option<usize> {
    let q = b[start];
    let backslash = match q {
        b'`' => false,
        b'"' if quoting.ansi_quotes => false,
        _ => !quoting.no_backslash_escapes,
    };
    let mut j = start + 1;
    while j < b.len() {
        let c = b[j];
        if backslash && c == b'\\' {
            j += 2;
            continue;
        }
        if c == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return Some(j + 1);
        }
        j += 1;
    }
    None
}

/// How quotes end in a session's sql_mode: with NO_BACKSLASH_ESCAPES a backslash is an
/// ordinary character, with ANSI_QUOTES `"` quotes identifiers (no escapes either).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Quoting {
    pub no_backslash_escapes: bool,
    pub ansi_quotes: bool,
}

/// The byte after the quoted token opening at `start`.
fn quoted_end(b: &[u8], start: usize, mode: &ScanMode) -> Result<usize, ScanError> {
    let quoting = Quoting {
        no_backslash_escapes: mode.no_backslash_escapes,
        ansi_quotes: mode.ansi_quotes,
    };
    quote_end(b, start, quoting).ok_or(ScanError::Unterminated(match b[start] {
        b'`' => "quoted name",
        b'"' if mode.ansi_quotes => "quoted name",
        _ => "string",
    }))
}

fn trim_range(text: &str, r: Range<usize>) -> Range<usize> {
    let s = &text.as_bytes()[r.clone()];
    let lead = s.iter().take_while(|&&c| is_space_or_control(c)).count();
    let trail = s[lead..]
        .iter()
        .rev()
        .take_while(|&&c| is_space_or_control(c))
        .count();
    r.start + lead..r.end - trail
}

/// The first word of a scanned statement, upper-cased (letters, digits and `_`).
pub fn first_word(text: &str) -> String {
    text.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> String {
        let s = scan(sql, &ScanMode::default()).expect(sql);
        assert_eq!(s.statements.len(), 1, "{sql:?} → {s:?}");
        s.single().unwrap().to_string()
    }

    #[test]
    fn version_comments_as_mariadb_10_11_reads_them() {
        // (text, what the server executes) — checked against MariaDB 10.11.
        let cases = [
            ("SELECT 1 /*!40101 +1 */", "SELECT 1   +1"),
            ("SELECT 1 /*!50699 +1 */", "SELECT 1   +1"),
            ("SELECT 1 /*!50700 +1 */", "SELECT 1"),
            ("SELECT 1 /*!80000 +10 */", "SELECT 1"),
            ("SELECT 1 /*!99999 +1 */", "SELECT 1"),
            ("SELECT 1 /*!100000 +1 */", "SELECT 1   +1"),
            ("SELECT 1 /*!110000 +1 */", "SELECT 1"),
            ("SELECT 1 /*M!100000 +100 */", "SELECT 1   +100"),
            ("SELECT 1 /*M!110000 +1 */", "SELECT 1"),
            ("SELECT 1 /*M!50000 +1 */", "SELECT 1   +1"),
            ("SELECT 1 /*M!80000 +1 */", "SELECT 1   +1"),
            ("SELECT 1 /*M! +1 */", "SELECT 1   +1"),
            ("SELECT 1 /*! +1 */", "SELECT 1   +1"),
            ("SELECT 1 /*!4010 +1 */", "SELECT 1  4010 +1"),
            ("SELECT 1 /*!1000000 +1 */", "SELECT 1  0 +1"),
            ("SELECT 1 /*!40101 + /* c */ 2 */", "SELECT 1   +   2"),
            ("SELECT 1/*!40101*/2", "SELECT 1  2"),
            ("SELECT 'a' /*!40101 'b' */", "SELECT 'a'   'b'"),
            ("SELECT 1 /*!40101 '*/' */", "SELECT 1   '*/'"),
        ];
        for (sql, want) in cases {
            assert_eq!(one(sql), want, "{sql}");
        }
    }

    #[test]
    fn comments_and_hints_become_spaces() {
        let cases = [
            ("/* x */ SHOW TABLES", "SHOW TABLES"),
            ("SHOW /* x */ TABLES", "SHOW   TABLES"),
            ("/*é*/USE shop", "USE shop"),
            ("/* c */ USE shop", "USE shop"),
            ("SELECT 1 -- x\n+ 2", "SELECT 1  \n+ 2"),
            ("SELECT 1 --x", "SELECT 1 --x"),
            ("SELECT 1 --", "SELECT 1"),
            ("SELECT 1 --\t1", "SELECT 1"),
            ("SELECT 1 # x", "SELECT 1"),
            ("SELECT 1 /* a /* b */ +1", "SELECT 1   +1"),
            ("SELECT /*+ NO_RANGE_OPTIMIZATION(t) */ 1", "SELECT   1"),
            ("SHOW /*+ STATUS */ PROCESSLIST", "SHOW   PROCESSLIST"),
            ("SET sql_log_bin/*+*/=0", "SET sql_log_bin =0"),
            (
                "SELECT '/* not */', \"-- no\", `#no`",
                "SELECT '/* not */', \"-- no\", `#no`",
            ),
            ("SELECT 'it''s \\' -- x'", "SELECT 'it''s \\' -- x'"),
            ("SELECT 'é' /* ü */ , 'ß'", "SELECT 'é'   , 'ß'"),
        ];
        for (sql, want) in cases {
            assert_eq!(one(sql), want, "{sql}");
        }
    }

    #[test]
    fn double_dash_before_non_ascii_is_refused() {
        for sql in [
            "SELECT 1 --\u{a0}x",
            "SELECT 1 --\u{2028}\n+1",
            "SELECT 1--é",
        ] {
            assert!(
                matches!(
                    scan(sql, &ScanMode::default()),
                    Err(ScanError::Ambiguous(_))
                ),
                "{sql}"
            );
        }
        assert!(scan("SELECT '--é'", &ScanMode::default()).is_ok());
    }

    #[test]
    fn routing_sees_executed_comment_content() {
        assert_eq!(
            one("SELECT * FROM t WHERE user_id = 1 /*M! OR 1=1 */"),
            "SELECT * FROM t WHERE user_id = 1   OR 1=1"
        );
    }

    #[test]
    fn statements_are_split_outside_quotes() {
        let s = scan("SELECT 1; DROP DATABASE x", &ScanMode::default()).unwrap();
        assert_eq!(s.statements.len(), 2);
        let s = scan("SELECT ';' ; ", &ScanMode::default()).unwrap();
        assert_eq!(s.single(), Some("SELECT ';'"));
        let s = scan("SELECT 1;;", &ScanMode::default()).unwrap();
        assert_eq!(s.single(), Some("SELECT 1"));
        let s = scan(" ; -- nothing", &ScanMode::default()).unwrap();
        assert!(s.statements.is_empty());
    }

    #[test]
    fn unterminated_parts_are_errors() {
        for sql in [
            "SELECT 'x",
            "SELECT 1 /* c",
            "SELECT 1 /*!40101 +1",
            "SELECT `a",
            "SELECT 1 /*!40101 # */ +1",
        ] {
            assert!(scan(sql, &ScanMode::default()).is_err(), "{sql}");
        }
    }

    #[test]
    fn sql_mode_changes_quoting() {
        let nbe = ScanMode {
            no_backslash_escapes: true,
            ..Default::default()
        };
        // Under NO_BACKSLASH_ESCAPES the backslash ends nothing: the string ends at the quote.
        let s = scan("SELECT 'a\\' /* c */", &nbe).unwrap();
        assert_eq!(s.single(), Some("SELECT 'a\\'"));
        let ansi = ScanMode {
            ansi_quotes: true,
            ..Default::default()
        };
        let s = scan("SELECT \"a\\\" /* c */", &ansi).unwrap();
        assert_eq!(s.single(), Some("SELECT \"a\\\""));
    }

    #[test]
    fn mysql_servers_ignore_mariadb_comments() {
        let mysql = ScanMode {
            version: 80036,
            mariadb: false,
            ..Default::default()
        };
        let s = scan("SELECT 1 /*M! +1 */ /*!80000 +2 */", &mysql).unwrap();
        assert_eq!(s.single(), Some("SELECT 1     +2"));
    }

    #[test]
    fn depth_counts_operator_chains_not_lists() {
        let d = |sql: &str| scan(sql, &ScanMode::default()).unwrap().depth;
        let ors: Vec<String> = (0..3000).map(|i| format!("a = {i}")).collect();
        assert!(d(&format!("SELECT * FROM t WHERE {}", ors.join(" OR "))) >= 5999);
        let list: Vec<String> = (0..3000).map(|i| format!("-{i}")).collect();
        assert!(d(&format!("SELECT * FROM t WHERE a IN ({})", list.join(", "))) <= 3);
        let rows: Vec<String> = (0..3000).map(|i| format!("(-{i}, 'x-y')")).collect();
        assert!(d(&format!("INSERT INTO t VALUES {}", rows.join(", "))) <= 3);
        assert_eq!(d("SELECT ((((1))))"), 4);
        assert_eq!(d("SELECT a FROM t WHERE order_id = 5"), 1);
    }

    #[test]
    fn never_panics_on_multibyte_or_odd_input() {
        for sql in [
            "é", "/*é", "--é", "'é", "/*!é*/", "/*M!é", "\u{0}", "`é`", "#é\n;é",
        ] {
            let _ = scan(sql, &ScanMode::default());
        }
    }
}
