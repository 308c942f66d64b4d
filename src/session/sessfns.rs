//! Functions and variables that describe the proxy session, not a pooled backend
//! connection: `DATABASE()`, `LAST_INSERT_ID()`, `CONNECTION_ID()`, `ROW_COUNT()`,
//! `FOUND_ROWS()`, `USER()`, `CURRENT_USER()`, `@@autocommit`, `@@last_insert_id`,
//! `@@warning_count`, `@@error_count`. They are replaced by their values as literals before
//! a statement is planned; an unaliased select item keeps its column name through `AS`.

use super::Session;
use crate::rules::LogicalDatabase;
use crate::sql::{Edits, SourceMap};
use sqlparser::ast::{
    Expr, FunctionArguments, SelectItem, SetExpr, Spanned, Statement, Visit, Visitor,
};
use std::ops::ControlFlow;

impl Session {
    /// DATABASE(), LAST_INSERT_ID(), CONNECTION_ID() describe the proxy session, not a backend's.
    pub(super) fn function_edits(
        &self,
        stmt: &Statement,
        sm: &SourceMap,
        db: &LogicalDatabase,
    ) -> Edits {
        let mut f = SessionFns {
            sm,
            edits: Edits::new(),
            db: self.db.clone(),
            last_id: self.last_insert_id,
            conn_id: self.conn_id,
            autocommit: self.autocommit,
            row_count: self.diag.row_count,
            found_rows: self.diag.found_rows,
            warning_count: self.diag.warning_count(),
            error_count: self.diag.error_count(),
            user: format!("{}@{}", self.user, self.client_host),
            account: format!("{}@%", self.user),
            aliased: Vec::new(),
            found: false,
        };
        let _ = db;
        if let Statement::Query(q) = stmt {
            if let SetExpr::Select(s) = q.body.as_ref() {
                for item in &s.projection {
                    if let SelectItem::UnnamedExpr(e) = item {
                        if let Some(r) = sm.range(e.span()) {
                            // The whole item: a function or variable that is only the start of
                            // it (`CONNECTION_ID() <> @x`) gets no alias.
                            f.aliased.push(crate::sql::edit::balanced(sm.text(), r));
                        }
                    }
                }
            }
        }
        let _ = stmt.visit(&mut f);
        if f.found {
            f.edits
        } else {
            Edits::new()
        }
    }
}

/// The statement names session functions or variables the proxy answers (whatever the
/// session: which ones it names depends on the statement alone).
pub(super) fn names_session_fns(stmt: &Statement, sql: &str) -> bool {
    let sm = SourceMap::new(sql);
    let mut f = SessionFns {
        sm: &sm,
        edits: Edits::new(),
        db: None,
        last_id: 0,
        conn_id: 0,
        autocommit: true,
        row_count: 0,
        found_rows: 0,
        warning_count: 0,
        error_count: 0,
        user: String::new(),
        account: String::new(),
        aliased: Vec::new(),
        found: false,
    };
    let _ = stmt.visit(&mut f);
    f.found
}

struct SessionFns<'a, 'b> {
    sm: &'b SourceMap<'a>,
    edits: Edits,
    db: Option<String>,
    last_id: u64,
    conn_id: u32,
    autocommit: bool,
    row_count: i64,
    found_rows: u64,
    warning_count: usize,
    error_count: usize,
    /// USER(): the client as `user@host`; CURRENT_USER(): the account, `user@%`.
    user: String,
    account: String,
    /// Ranges of unaliased select-list items (the replacement keeps the column name).
    aliased: Vec<std::ops::Range<usize>>,
    found: bool,
}

impl SessionFns<'_, '_> {
    /// `@@autocommit` reflects the proxy session, not the backend connection.
    fn session_variable(&self, e: &Expr) -> Option<String> {
        let name = match e {
            Expr::Identifier(i) => i.value.to_ascii_lowercase(),
            Expr::CompoundIdentifier(v) => v
                .iter()
                .map(|i| i.value.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join("."),
            _ => return None,
        };
        match name.as_str() {
            "@@autocommit" | "@@session.autocommit" | "@@local.autocommit" => {
                Some((self.autocommit as u8).to_string())
            }
            "@@last_insert_id" | "@@session.last_insert_id" | "@@identity" => {
                Some(self.last_id.to_string())
            }
            "@@warning_count" | "@@session.warning_count" => Some(self.warning_count.to_string()),
            "@@error_count" | "@@session.error_count" => Some(self.error_count.to_string()),
            _ => None,
        }
    }

    fn replace(&mut self, e: &Expr, value: String) {
        let Some(r) = self.sm.range(e.span()) else {
            return;
        };
        let orig = &self.sm.text()[r.clone()];
        let whole = crate::sql::edit::balanced(self.sm.text(), r.clone());
        let replacement = if self.aliased.contains(&whole) {
            format!("{value} AS `{}`", orig.replace('`', "``"))
        } else {
            value
        };
        self.edits.replace(r, replacement);
        self.found = true;
    }
}

impl Visitor for SessionFns<'_, '_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Some(v) = self.session_variable(e) {
            self.replace(e, v);
            return ControlFlow::Continue(());
        }
        let Expr::Function(f) = e else {
            return ControlFlow::Continue(());
        };
        let no_args = match &f.args {
            FunctionArguments::None => true,
            FunctionArguments::List(l) => l.args.is_empty(),
            _ => false,
        };
        if !no_args {
            return ControlFlow::Continue(());
        }
        // Native functions resolve quoted or not; DATABASE(), USER() and CURRENT_USER() are
        // keywords, so a quoted `database`() is some stored function instead.
        let (name, quoted) = crate::sql::function_name(&f.name);
        let keyword = matches!(
            name.as_str(),
            "database" | "schema" | "user" | "current_user"
        );
        if quoted && keyword {
            return ControlFlow::Continue(());
        }
        let value = match name.as_str() {
            // NULLIF keeps the column nullable, as DATABASE() is.
            "database" | "schema" => match &self.db {
                Some(d) => format!("NULLIF({}, '')", crate::sql::literal::quote_str(d, false)),
                None => "NULL".into(),
            },
            "last_insert_id" => self.last_id.to_string(),
            "connection_id" => self.conn_id.to_string(),
            "row_count" => self.row_count.to_string(),
            "found_rows" => self.found_rows.to_string(),
            "user" | "session_user" | "system_user" => {
                crate::sql::literal::quote_str(&self.user, false)
            }
            "current_user" => crate::sql::literal::quote_str(&self.account, false),
            _ => return ControlFlow::Continue(()),
        };
        let Some(r) = self.sm.range(e.span()) else {
            return ControlFlow::Continue(());
        };
        let text = self.sm.text();
        let end = crate::sql::edit::balanced(text, r.clone()).end;
        let orig = &text[r.start..end];
        let replacement = if self.aliased.contains(&(r.start..end)) {
            format!("{value} AS `{}`", orig.replace('`', "``"))
        } else {
            value
        };
        self.edits.replace(r.start..end, replacement);
        self.found = true;
        ControlFlow::Continue(())
    }
}
