//! Source databases of replication nodes: the few operations a replication run needs from one
//! (its table's columns, the highest value of the replication field, whether that field is
//! indexed, and the rows between two watermarks streamed out as CSV), each adapter in its own
//! module, the only place its driver is named. Everything runs as single statements with bound
//! values, and exports run in read-only transactions.

pub mod postgres;

use crate::catalog::replication::Nulls;
use crate::identifier::TableName;

/// One column of a source table: its name and its type as the source names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceColumn {
    pub name: String,
    pub type_name: String,
}

/// A column of the export: the target column's name and what fills it (the source column of
/// that name, or an expression checked at schedule time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportColumn {
    pub name: String,
    pub expression: Option<String>,
}

/// Which rows to export: all of them, or those whose `field` is past `lo` (exclusive, when
/// known) up to `hi` (inclusive); values as the source's text form of the field's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRequest {
    pub table: TableName,
    pub columns: Vec<ExportColumn>,
    pub range: Option<FieldRange>,
}

/// The bounds of an incremental export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRange {
    pub field: String,
    /// The field's type on the source (from [`SourceColumn::type_name`]).
    pub type_name: String,
    pub lo: Option<String>,
    pub hi: String,
    /// Whether rows whose field is NULL are exported too.
    pub nulls: Nulls,
}
