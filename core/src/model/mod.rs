//! The data model: schemas, field values, documents, their JSON forms,
//! validation and merge-patch updates.

mod json;
mod patch;
pub mod schema;
mod validate;
pub mod value;

pub(crate) use json::json_kind;
pub use schema::{FieldDef, FieldType, Metric, Schema, TextOptions, MAX_VECTOR_DIM};
pub use validate::validate;
pub use value::{Document, Value, MAX_ID_BYTES};
