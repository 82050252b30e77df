//! brink's API types: the resource registry, defaulting, validation, tables,
//! selectors and patch semantics of the kinds served. No runtime, no I/O.

pub mod registry;

pub use registry::{RESOURCES, ResourceInfo, Subresource};
pub mod convert;
pub mod cron;
pub mod decode;
pub mod defaults;
pub mod egress;
pub mod link;
pub mod matching;
pub mod meta;
pub mod patch;
pub mod selector;
pub mod table;
pub mod validation;

pub use convert::{ConvertError, convert_event, core_to_events, events_to_core};
pub use decode::{DecodeError, decode_typed_check, unknown_fields, unknown_fields_for};
pub use defaults::apply_defaults;
pub use selector::{FieldSelector, LabelSelector, SelectorError};
pub use table::{IncludeObject, column_definitions, human_duration, row_cells, table};
pub use validation::{FieldError, FieldErrorKind, validate, validate_name};
