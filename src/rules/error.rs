//! Errors of loading rules and of routing.

/// A rules file could not be read, parsed or validated. Every message starts with the
/// file path (the `origin` given to [`super::parse`]).
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("{path}: cannot read rules file: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax error, or a value of the wrong type / an unknown field.
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The file parsed, but its content is inconsistent. `context` is the TOML path of the
    /// offending table or field, e.g. `databases.shop.tables.t_order.actual_data_nodes`.
    #[error("{origin}: {context}: {message}")]
    Invalid {
        origin: String,
        context: String,
        message: String,
    },
}

/// A sharding algorithm could not map a value to data nodes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "table `{table}`, {strategy} strategy (column `{column}`, algorithm `{algorithm}`): {message}"
)]
pub struct RouteError {
    /// Logical table name.
    pub table: String,
    /// `"database"` or `"table"`.
    pub strategy: &'static str,
    /// Sharding column (lower case).
    pub column: String,
    /// Algorithm name as declared in the rules file.
    pub algorithm: String,
    /// What went wrong, e.g. `value '2030-01-01 00:00:00' is outside [...]`.
    pub message: String,
}
