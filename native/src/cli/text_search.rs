//! `axon search NAME --text QUERY [--vector JSON]`: full-text and hybrid
//! search, printed as JSONL hits `{"id", "score", "doc", "highlights"}`.
//!
//! `highlights` maps each text field with matches to its byte ranges:
//! `[start, end]` in a string field, `[start, end, element]` in a
//! `string[]` field.

use std::io::{BufWriter, Write};

use axon_core::db::retrieve::highlights_json;
use axon_core::db::{Fusion, Hit, Search};
use axon_core::model::{FieldType, Schema};
use serde_json::{json, Value as Json};

use super::args::SearchArgs;
use super::error::{stdout_error, CliError};
use super::json_io::parse_filter;
use super::vectors::parse_vector;
use crate::Db;

/// Sorts the `--field` names into the text field and the vector field.
fn fields(schema: &Schema, names: &[String]) -> Result<(Option<String>, Option<String>), CliError> {
    let (mut text, mut vector) = (None, None);
    for n in names {
        let slot = match schema.field(n) {
            Some(d) if d.text.is_some() => &mut text,
            Some(d) if matches!(d.ty, FieldType::Vector { .. }) => &mut vector,
            Some(_) => {
                return Err(CliError::failed(format!(
                    "invalid argument: --field {n:?} has neither a text index nor vectors"
                )))
            }
            None => return Err(CliError::failed(format!("invalid argument: unknown field {n:?}"))),
        };
        if slot.replace(n.clone()).is_some() {
            return Err(CliError::failed("invalid argument: --field names two text or two vector fields"));
        }
    }
    Ok((text, vector))
}

fn hit_json(schema: &Schema, h: &Hit) -> Json {
    let hl = highlights_json(schema, &h.highlights);
    json!({"id": h.doc.id, "score": h.score, "doc": h.doc.to_json(), "highlights": hl})
}

/// Runs a text or hybrid search.
pub fn search(db: &Db, args: &SearchArgs, out: &mut impl Write) -> Result<(), CliError> {
    let schema = db.schema(&args.collection)?;
    let (text_field, vector_field) = fields(&schema, &args.field)?;
    let s = Search {
        text: args.text.clone(),
        vector: args.vector.as_deref().map(parse_vector).transpose()?,
        k: args.k,
        filter: args.filter.as_deref().map(parse_filter).transpose()?,
        text_field,
        vector_field,
        fusion: Fusion::from_name(&args.fusion)?,
        text_weight: args.text_weight,
        ef: args.ef.map(|e| e as usize),
        exact: args.exact,
        highlights: true,
    };
    let hits = db.search(&args.collection, &s)?;
    let mut out = BufWriter::new(out);
    for h in &hits {
        writeln!(out, "{}", hit_json(&schema, h)).map_err(stdout_error)?;
    }
    out.flush().map_err(stdout_error)
}
