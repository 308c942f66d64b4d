//! Repeated text SELECTs: statements that differ only in the literals compared with columns
//! in WHERE share one parse (see [`crate::sql::template`]) and are planned like a prepared
//! statement with those literals bound, so they send exactly the SQL the client wrote.

use super::query::Bound;
use super::stmt::ParsedStmt;
use super::{FlowResult, Session};
use crate::protocol::writer::ResultWriter;
use crate::sql::template::{extract, only_compared_values, Template};

/// Templates a session keeps (the cache starts over when full).
const MAX_TEMPLATES: usize = 256;

/// Parsed templates of one session by text; `None`: the template does not qualify.
pub(crate) type Templates = std::collections::HashMap<String, Option<ParsedStmt>>;

impl Session {
    /// Run a text SELECT through its template. `Ok(false)`: not handled and nothing sent (the
    /// caller parses the statement itself, which also gives any error its exact text).
    pub(crate) async fn run_template(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<bool> {
        if self.ansi_quotes || self.no_backslash_escapes {
            return Ok(false);
        }
        let Some(t) = extract(sql) else {
            return Ok(false);
        };
        let parsed = match self.templates.get(&t.text) {
            Some(Some(s)) => s.clone(),
            Some(None) => return Ok(false),
            None => {
                let parsed = self.parse_template(&t);
                if self.templates.len() >= MAX_TEMPLATES {
                    self.templates.clear();
                }
                self.templates.insert(t.text.clone(), parsed.clone());
                match parsed {
                    Some(s) => s,
                    None => return Ok(false),
                }
            }
        };
        let bound = Bound {
            values: t.literals.iter().map(|l| l.value(sql)).collect(),
            sql: t
                .literals
                .iter()
                .map(|l| sql[l.range()].to_string())
                .collect(),
        };
        self.touch_gate(&parsed.refs).await?;
        let planned = self.plan_with(
            &t.text,
            &parsed.stmt,
            Some(&parsed.refs),
            &bound,
            None,
            parsed.analysis.session_fns,
        );
        let Ok((plan, None)) = planned else {
            return Ok(false);
        };
        self.firewall(None, &parsed.refs, &plan)?;
        self.diag.uses_tables = true;
        self.run_plan(&plan, w).await?;
        Ok(true)
    }

    fn parse_template(&self, t: &Template) -> Option<ParsedStmt> {
        let p = self.parse_for_execute(&t.text)?;
        // A statement refused by the checks is not a template: the normal path answers it;
        // nor is one that changes its session beyond its answer.
        self.check_analysed(&p.stmt, &p.refs, &p.analysis).ok()?;
        let effects = &p.analysis.effects;
        if effects.reads_back() || effects.named_locks || p.refs.tables.is_empty() {
            return None;
        }
        only_compared_values(&p.stmt, t.literals.len()).then_some(p)
    }
}
