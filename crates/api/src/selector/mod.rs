//! Label and field selectors: parsing with Kubernetes' grammar and error
//! texts, and matching against objects held as `serde_json::Value`.

mod fields;
mod labels;
mod parser;

pub use fields::{FieldOp, FieldSelector, FieldTerm, field_value, supported_fields};
pub use labels::{LabelSelector, Operator, Requirement, format_labels};

/// Why a selector could not be parsed or is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The label selector string does not follow the grammar; the text is
    /// what apimachinery's parser says (e.g. `unable to parse requirement: ...`).
    #[error("{0}")]
    LabelSyntax(String),
    /// A `metav1.LabelSelector` object is malformed (bad operator, key or
    /// value, or not an object).
    #[error("{0}")]
    InvalidLabelSelector(String),
    /// The field selector string does not follow the grammar
    /// (`invalid selector: '...'; can't understand '...'`) or has a bad escape.
    #[error("{0}")]
    FieldSyntax(String),
    /// The field is not selectable for this resource.
    #[error("field label not supported: {0}")]
    FieldNotSupported(String),
}
