//! Tests of [`super`]: SET statements as MariaDB reads them.
use super::*;

const Q: Quoting = Quoting {
    no_backslash_escapes: false,
    ansi_quotes: false,
};

fn parts(sql: &str) -> Vec<(Option<String>, String, String)> {
    match parse_set(sql, Quoting::default()).unwrap() {
        SetStmt::Assignments(v) => v.into_iter().map(|a| (a.scope, a.name, a.value)).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn assignments_are_split_at_top_level_commas() {
    assert_eq!(
        parts("SET autocommit = 0, sql_mode = 'A,B', @x := CONCAT('a', ','), SESSION c = 1"),
        vec![
            (None, "autocommit".into(), "0".into()),
            (None, "sql_mode".into(), "'A,B'".into()),
            (None, "@x".into(), "CONCAT('a', ',')".into()),
            (Some("SESSION".into()), "c".into(), "1".into()),
        ]
    );
    assert_eq!(parts("SET @@session.x=1")[0].1, "@@session.x");
    assert_eq!(
        parts("SET @`a=b` = 2")[0],
        (None, "@`a=b`".into(), "2".into())
    );
}

#[test]
fn set_forms() {
    assert_eq!(
        parse_set(
            "SET STATEMENT max_statement_time = 60, a = 'for' FOR INSERT INTO t VALUES (1)",
            Q
        )
        .unwrap(),
        SetStmt::Statement {
            modifier: "max_statement_time = 60, a = 'for'".into(),
            inner: "INSERT INTO t VALUES (1)".into()
        }
    );
    assert_eq!(
        parse_set("SET TRANSACTION READ ONLY", Q).unwrap(),
        SetStmt::NextTransaction("READ ONLY".into())
    );
    assert_eq!(
        parse_set(
            "SET SESSION TRANSACTION isolation level read committed, READ ONLY",
            Q
        )
        .unwrap(),
        SetStmt::SessionTransaction(
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY".into()
        )
    );
    for bad in [
        "SET TRANSACTION READ ONLY, sql_log_bin = 0",
        "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE x",
    ] {
        assert!(parse_set(bad, Q).is_err(), "{bad}");
    }
}

#[test]
fn names_are_rebuilt_by_the_proxy() {
    let names = |sql: &str| match parse_set(sql, Q) {
        Ok(SetStmt::Names { sql, rest }) => Ok((sql, rest.len())),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code),
    };
    assert_eq!(
        names("SET NAMES utf8mb4"),
        Ok(("SET NAMES utf8mb4".into(), 0))
    );
    assert_eq!(
        names("SET NAMES 'UTF8MB4' COLLATE 'utf8mb4_general_ci'"),
        Ok(("SET NAMES utf8mb4 COLLATE utf8mb4_general_ci".into(), 0))
    );
    assert_eq!(
        names("SET CHARACTER SET utf8"),
        Ok(("SET CHARACTER SET utf8".into(), 0))
    );
    assert_eq!(
        names("SET charset latin1"),
        Ok(("SET CHARACTER SET latin1".into(), 0))
    );
    // Assignments after the names are assignments like any other.
    assert_eq!(
        names("SET NAMES utf8mb4, time_zone = '+00:00'"),
        Ok(("SET NAMES utf8mb4".into(), 1))
    );
    assert!(refused("SET NAMES utf8mb4, sql_log_bin = 0", Q).is_some());
    for bad in [
        "SET NAMES utf8mb4 sql_log_bin",
        "SET NAMES utf8mb4 COLLATE x y",
        "SET NAMES 'a b'",
        "SET NAMES utf8mb4 COLLATE utf8mb4_bin, sql_log_bin",
    ] {
        assert!(names(bad).is_err(), "{bad}");
    }
}

#[test]
fn constants_are_kept_expressions_evaluated() {
    for v in [
        "1",
        "-1",
        "1.5e3",
        "'x'",
        "'a''b'",
        "_utf8mb4'x'",
        "ON",
        "DEFAULT",
        "NULL",
        "TRADITIONAL",
    ] {
        assert!(constant(v, Q), "{v}");
    }
    for v in [
        "@x + 1",
        "UUID()",
        "(SELECT 1)",
        "1 - 1",
        "@x",
        "@@sql_mode",
        "CONCAT('a', 'b')",
        "'a' 'b'",
    ] {
        assert!(!constant(v, Q), "{v}");
    }
}

#[test]
fn refusals_by_variable() {
    for sql in [
        "SET sql_log_bin = 0",
        "SET `sql_log_bin` = 0",
        "SET @@SESSION.`sql_log_bin` = 0",
        "SET @@global.x = 1",
        "SET GLOBAL x = 1",
        "SET STATEMENT wait_timeout = 1 FOR SELECT 1",
    ] {
        assert!(refused(sql, Q).is_some(), "{sql}");
    }
    assert!(refused("SET @a = 1, sql_mode = ''", Q).is_none());
    // Names the proxy cannot read as one variable are not SET statements it accepts.
    assert!(refused("SET @@session . sql_log_bin = 0", Q).is_some());
    for bad in ["SET a b = 1", "SET x.y.z = 1", "SET foo.bar = 1"] {
        assert!(parse_set(bad, Q).is_err(), "{bad}");
    }
}

#[test]
fn quotes_end_as_the_session_mode_reads_them() {
    let nbe = Quoting {
        no_backslash_escapes: true,
        ansi_quotes: false,
    };
    // With NO_BACKSLASH_ESCAPES `'x\'` is a whole string: two assignments.
    let sql = r"SET @a = 'x\', sql_log_bin = 0, @b = 'y'";
    assert!(refused(sql, nbe).is_some());
    match parse_set(sql, nbe).unwrap() {
        SetStmt::Assignments(v) => assert_eq!(v.len(), 3),
        other => panic!("{other:?}"),
    }
    assert!(constant(r"'x\'", nbe));
    assert!(!constant(r"'x\' + 1", nbe));
    let ansi = Quoting {
        no_backslash_escapes: false,
        ansi_quotes: true,
    };
    assert!(!constant("\"x\"", ansi));
    assert_eq!(find_top_word("'FOR' FOR x", "FOR", Q), Some(6));
    // Multibyte text next to keywords never panics.
    assert_eq!(find_top_word("éFORé FOR", "FOR", Q), Some(8));
    assert!(parse_set("SET GLOBALé = 1", Q).is_err() || parse_set("SET GLOBALé = 1", Q).is_ok());
    assert!(parse_set("SET STATEMENTé", Q).is_err());
    assert!(parse_set("SET TRANSACTIONé", Q).is_err());
}
