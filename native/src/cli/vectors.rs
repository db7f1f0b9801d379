//! `axon import` (vectors from an `.fvecs` file) and `axon search` (nearest
//! neighbours of one JSON vector, or of every vector of an `.fvecs` file with
//! the ids written as `.ivecs`).
//!
//! The `.fvecs` format: records of a dimension `d` (`i32`, little-endian)
//! followed by `d` `f32` values (little-endian); `.ivecs` is the same with
//! `i32` values. Files are parsed defensively: a truncated record, a bad or
//! changing dimension and non-finite values are errors naming the record
//! (counted from 0, like the ids `import` gives), and no allocation is larger
//! than the bytes the file has left.

use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::Path;
use std::time::Instant;

use axon_core::db::search::{SearchHit, MAX_K};
use axon_core::db::SearchOptions;
use axon_core::model::MAX_VECTOR_DIM;
use axon_core::model::{FieldType, Metric};
use serde_json::{json, Value as Json};

use super::args::{ImportArgs, SearchArgs};
use super::error::{stdout_error, CliError};
use super::json_io::parse_filter;
use crate::{BatchOp, Db, Document, Filter, Schema, Value, WriteBatch};

/// Vectors per atomic commit of `axon import`.
pub const IMPORT_BATCH: usize = 1000;

/// Reads `.fvecs` records one at a time.
pub struct FvecsReader<R> {
    input: R,
    path: String,
    /// Bytes of the file not read yet (bounds every allocation).
    remaining: u64,
    /// Index of the next record.
    record: u64,
    /// The dimension of record 0, once read.
    dim: Option<usize>,
}

impl FvecsReader<BufReader<File>> {
    /// Opens an `.fvecs` file.
    pub fn open(path: &Path) -> Result<Self, CliError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|e| CliError::failed(format!("cannot open {shown}: {e}")))?;
        let len = file.metadata().map_err(|e| CliError::failed(format!("cannot read {shown}: {e}")))?.len();
        Ok(FvecsReader::new(BufReader::with_capacity(1 << 16, file), len, shown))
    }
}

impl<R: Read> FvecsReader<R> {
    /// Reads `len` bytes of `.fvecs` records from `input`; `path` names the
    /// file in errors.
    pub fn new(input: R, len: u64, path: impl Into<String>) -> Self {
        FvecsReader { input, path: path.into(), remaining: len, record: 0, dim: None }
    }

    /// The dimension of the records (that of record 0), once one is read.
    pub fn dim(&self) -> Option<usize> {
        self.dim
    }

    /// How many records the file holds if every one has the dimension of
    /// record 0 (exact for a valid file): the ones read plus what is left.
    pub fn estimated_len(&self) -> u64 {
        match self.dim {
            Some(d) => self.record + self.remaining / (4 + 4 * d as u64),
            None => 0,
        }
    }

    fn error(&self, what: impl std::fmt::Display) -> CliError {
        CliError::failed(format!("{}: record {}: {what}", self.path, self.record))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), CliError> {
        match self.input.read_exact(buf) {
            Ok(()) => {
                self.remaining -= buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => Err(self.error("truncated (the file ended early)")),
            Err(e) => Err(CliError::failed(format!("reading {} failed: {e}", self.path))),
        }
    }

    /// The next record, or `None` at the end of the file.
    pub fn next_vector(&mut self) -> Result<Option<Vec<f32>>, CliError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        if self.remaining < 4 {
            return Err(self.error(format_args!(
                "truncated: {} trailing byte(s) where a dimension (4 bytes) should be",
                self.remaining
            )));
        }
        let mut head = [0u8; 4];
        self.read_exact(&mut head)?;
        let d = i32::from_le_bytes(head);
        if d < 1 || d as u32 > MAX_VECTOR_DIM {
            return Err(self.error(format_args!("invalid dimension {d} (must be between 1 and {MAX_VECTOR_DIM})")));
        }
        let d = d as usize;
        if let Some(first) = self.dim {
            if d != first {
                return Err(self.error(format_args!("dimension {d} differs from record 0's dimension {first}")));
            }
        }
        let bytes = 4 * d as u64;
        if bytes > self.remaining {
            return Err(self.error(format_args!(
                "truncated: dimension {d} needs {bytes} bytes, the file has {} left",
                self.remaining
            )));
        }
        let mut raw = vec![0u8; bytes as usize];
        self.read_exact(&mut raw)?;
        let v: Vec<f32> = raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(self.error(format_args!("value at index {i} is not a finite number ({})", v[i])));
        }
        self.dim = Some(d);
        self.record += 1;
        Ok(Some(v))
    }
}

/// Parses a `--metric` argument.
pub fn parse_metric(s: &str) -> Result<Metric, String> {
    Metric::from_name(s).ok_or_else(|| format!("metric must be cosine, l2 or dot, not {s:?}"))
}

/// `axon import`: the vectors of an `.fvecs` file become documents `"0"`,
/// `"1"`, ... (upserted), [`IMPORT_BATCH`] per commit; progress goes to
/// `progress`, the final count to `out`.
pub fn import(db: &Db, args: &ImportArgs, out: &mut impl Write, progress: &mut impl Write) -> Result<(), CliError> {
    let mut reader = FvecsReader::open(&args.fvecs)?;
    let first = reader.next_vector()?;
    let name = &args.collection;
    let mut batch = WriteBatch::new();
    match db.schema(name) {
        Ok(schema) => {
            if let Some(dim) = reader.dim() {
                check_import_field(name, &schema, &args.field, dim, args.metric)?;
            }
        }
        Err(axon_core::Error::CollectionNotFound(_)) => {
            let Some(dim) = reader.dim() else {
                return Err(CliError::failed(format!(
                    "{} holds no vectors: cannot create collection {name:?} without a dimension",
                    args.fvecs.display()
                )));
            };
            let metric = args.metric.unwrap_or(Metric::L2);
            let schema = Schema::from_json(&json!({
                "fields": {args.field.clone(): {"type": "vector", "dim": dim, "metric": metric.name()}}
            }))?;
            batch.push(BatchOp::CreateCollection { name: name.clone(), schema });
        }
        Err(e) => return Err(e.into()),
    }
    let total = reader.estimated_len();
    let mut done = 0u64;
    let mut pending = 0usize;
    let mut next = first;
    while let Some(v) = next {
        batch.upsert(name, Document::new((done + pending as u64).to_string()).with(&args.field, Value::Vector(v)));
        pending += 1;
        if pending >= IMPORT_BATCH {
            commit(db, &mut batch, &mut done, &mut pending, total, progress)?;
        }
        next = reader.next_vector()?;
    }
    if !batch.is_empty() {
        commit(db, &mut batch, &mut done, &mut pending, total, progress)?;
    }
    writeln!(out, "imported {done} vectors").map_err(stdout_error)?;
    // Build (or bring up to date) the HNSW index and write it to pages, so
    // that searches after this start from it.
    let start = Instant::now();
    let stats = db.vector_index_stats(name, Some(&args.field))?;
    db.checkpoint()?;
    let _ = writeln!(progress, "indexed {} vectors in {:.2} s", stats.live, start.elapsed().as_secs_f64());
    Ok(())
}

/// Commits the pending records `done..done + pending` and reports progress.
fn commit(
    db: &Db,
    batch: &mut WriteBatch,
    done: &mut u64,
    pending: &mut usize,
    total: u64,
    progress: &mut impl Write,
) -> Result<(), CliError> {
    let last = *done + *pending as u64;
    db.write(batch).map_err(|e| {
        let at = if *pending == 1 { format!("record {done}") } else { format!("records {done}-{}", last - 1) };
        CliError::from(e).context(format_args!("committing {at}"))
    })?;
    *done = last;
    *pending = 0;
    *batch = WriteBatch::new();
    let _ = writeln!(progress, "imported {done}/{}", total.max(*done));
    Ok(())
}

/// Checks that `field` of an existing collection can take vectors of `dim`.
fn check_import_field(
    collection: &str,
    schema: &Schema,
    field: &str,
    dim: usize,
    metric: Option<Metric>,
) -> Result<(), CliError> {
    let bad = |msg: String| Err(CliError::failed(format!("collection {collection:?}: {msg}")));
    match schema.field(field).map(|f| &f.ty) {
        None => bad(format!("no field {field:?} (import needs a vector field of dimension {dim}; see --field)")),
        Some(FieldType::Vector { dim: have, metric: m, .. }) => {
            if *have as usize != dim {
                bad(format!("field {field:?} has dimension {have}, the file's vectors have dimension {dim}"))
            } else if let Some(want) = metric.filter(|want| want != m) {
                bad(format!("field {field:?} uses metric {}, not {}", m.name(), want.name()))
            } else {
                Ok(())
            }
        }
        Some(ty) => bad(format!("field {field:?} is a {} field, not a vector field", ty.name())),
    }
}

/// Parses a `--vector` argument: a JSON array of finite numbers.
pub(super) fn parse_vector(arg: &str) -> Result<Vec<f32>, CliError> {
    let bad = |msg: String| CliError::failed(format!("invalid --vector: {msg}"));
    let json: Json = serde_json::from_str(arg).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let Json::Array(items) = json else {
        return Err(bad("expected a JSON array of numbers".into()));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, x)| match x.as_f64().map(|f| f as f32) {
            Some(f) if f.is_finite() => Ok(f),
            Some(_) => Err(bad(format!("value at index {i} is out of range for a 32-bit float"))),
            None => Err(bad(format!("value at index {i} is not a number: {x}"))),
        })
        .collect()
}

/// `axon search`.
pub fn search(db: &Db, args: &SearchArgs, out: &mut impl Write) -> Result<(), CliError> {
    if args.text.is_some() {
        return super::text_search::search(db, args, out);
    }
    let snap = db.snapshot();
    let schema = snap.schema(&args.collection)?;
    if args.field.len() > 1 {
        return Err(CliError::failed("invalid argument: a vector search takes one --field"));
    }
    let (field, dim, metric) = schema.vector_field(args.field.first().map(String::as_str))?;
    if args.k == 0 || args.k > MAX_K {
        return Err(CliError::failed(format!("invalid argument: --k must be between 1 and {MAX_K}, not {}", args.k)));
    }
    let filter = args.filter.as_deref().map(parse_filter).transpose()?;
    if let Some(f) = &filter {
        Filter::parse(&schema, f)?;
    }
    let opts = SearchOptions { field: Some(field.clone()), filter, ef: args.ef.map(|e| e as usize), exact: args.exact };
    let query = Query { db, collection: &args.collection, field: &field, k: args.k, opts };
    match (&args.vector, &args.fvecs, &args.ivecs_out) {
        (Some(v), None, None) => {
            let v = parse_vector(v)?;
            if v.len() != dim {
                return Err(CliError::failed(format!(
                    "invalid argument: query vector has {} numbers, field {field:?} has dimension {dim}",
                    v.len()
                )));
            }
            let mut out = BufWriter::new(out);
            for hit in query.run(&v)? {
                let line = json!({"id": hit.doc.id, "score": metric.score(hit.distance), "doc": hit.doc.to_json()});
                writeln!(out, "{line}").map_err(stdout_error)?;
            }
            out.flush().map_err(stdout_error)
        }
        (None, Some(queries), Some(ivecs_out)) => batch_search(&query, dim, queries, ivecs_out, out),
        // clap enforces these combinations; this is a second line of defence.
        _ => Err(CliError::usage("give either --vector JSON, or --fvecs FILE with --ivecs-out FILE")),
    }
}

/// What every query of one `axon search` shares.
struct Query<'a> {
    db: &'a Db,
    collection: &'a str,
    field: &'a str,
    k: usize,
    opts: SearchOptions,
}

impl Query<'_> {
    fn run(&self, v: &[f32]) -> Result<Vec<SearchHit>, CliError> {
        Ok(self.db.search_vector(self.collection, v, self.k, &self.opts)?)
    }
    /// Ids only (no documents read when the index allows).
    fn run_ids(&self, v: &[f32]) -> Result<Vec<(String, f32)>, CliError> {
        Ok(self.db.search_ids(self.collection, v, self.k, &self.opts)?)
    }
}

/// Batch mode: every vector of `queries` in turn; writes `.ivecs` records of
/// `k` ids each (`-1` where fewer than `k` documents matched) and prints the
/// throughput (of the searches: the index is loaded before timing starts).
fn batch_search(
    query: &Query<'_>,
    dim: usize,
    queries: &Path,
    ivecs_out: &Path,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let mut reader = FvecsReader::open(queries)?;
    let mut vectors = Vec::new();
    while let Some(v) = reader.next_vector()? {
        if v.len() != dim {
            return Err(CliError::failed(format!(
                "{}: queries have dimension {}, field {:?} has dimension {dim}",
                queries.display(),
                v.len(),
                query.field
            )));
        }
        vectors.push(v);
    }
    let k = query.k;
    let mut ids: Vec<i32> = Vec::with_capacity(vectors.len().saturating_mul(k).min(1 << 24));
    // The index loads on first use: load it before the clock starts, so the
    // throughput printed is that of the searches alone.
    if !query.opts.exact {
        query.db.vector_index_stats(query.collection, Some(query.field))?;
    }
    let start = Instant::now();
    for (i, v) in vectors.iter().enumerate() {
        let hits = query.run_ids(v).map_err(|e| e.context(format_args!("query {i}")))?;
        for (hit_id, _) in &hits {
            let id = hit_id.parse::<i32>().map_err(|_| {
                CliError::failed(format!(
                    "query {i}: document id {hit_id:?} is not a 32-bit integer, so it cannot be written to an .ivecs file"
                ))
            })?;
            ids.push(id);
        }
        ids.extend(std::iter::repeat_n(-1, k.saturating_sub(hits.len())));
    }
    let seconds = start.elapsed().as_secs_f64();
    write_ivecs(ivecs_out, k, &ids)?;
    let n = vectors.len();
    let qps = if seconds > 0.0 { n as f64 / seconds } else { 0.0 };
    writeln!(out, "queries={n} seconds={seconds:.3} qps={qps:.1}").map_err(stdout_error)
}

/// Writes `ids` as `.ivecs` records of `k` ids each.
fn write_ivecs(path: &Path, k: usize, ids: &[i32]) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::failed(format!("writing {} failed: {e}", path.display()));
    let file = File::create(path).map_err(fail)?;
    let mut w = BufWriter::new(file);
    let k32 = i32::try_from(k).map_err(|_| CliError::failed(format!("k {k} does not fit an .ivecs record")))?;
    for record in ids.chunks(k.max(1)) {
        w.write_all(&k32.to_le_bytes()).map_err(fail)?;
        for id in record {
            w.write_all(&id.to_le_bytes()).map_err(fail)?;
        }
    }
    w.into_inner().map_err(|e| fail(e.into_error()))?.sync_all().map_err(fail)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn record(d: i32, values: &[f32]) -> Vec<u8> {
        let mut b = d.to_le_bytes().to_vec();
        for v in values {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Vec<f32>>, CliError> {
        let mut r = FvecsReader::new(Cursor::new(bytes), bytes.len() as u64, "f");
        let mut out = Vec::new();
        while let Some(v) = r.next_vector()? {
            out.push(v);
        }
        Ok(out)
    }

    #[test]
    fn reads_records_and_counts() {
        let mut bytes = record(2, &[1.0, 2.0]);
        bytes.extend(record(2, &[3.0, 4.0]));
        let mut r = FvecsReader::new(Cursor::new(&bytes), bytes.len() as u64, "f");
        assert_eq!(r.estimated_len(), 0);
        assert_eq!(r.next_vector().unwrap(), Some(vec![1.0, 2.0]));
        assert_eq!(r.estimated_len(), 2);
        assert_eq!(r.next_vector().unwrap(), Some(vec![3.0, 4.0]));
        assert_eq!(r.next_vector().unwrap(), None);
        assert_eq!(read_all(&[]).unwrap(), Vec::<Vec<f32>>::new());
    }

    #[test]
    fn rejects_bad_files_naming_the_record() {
        let good = record(2, &[1.0, 2.0]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            ([good.clone(), vec![1, 0]].concat(), "record 1: truncated: 2 trailing byte(s)"),
            ([good.clone(), record(2, &[1.0])].concat(), "record 1: truncated: dimension 2 needs 8 bytes"),
            ([good.clone(), record(3, &[1.0, 2.0, 3.0])].concat(), "record 1: dimension 3 differs"),
            (record(0, &[]), "record 0: invalid dimension 0"),
            (record(-5, &[]), "record 0: invalid dimension -5"),
            (record(i32::MAX, &[1.0]), "invalid dimension 2147483647"),
            (record(60000, &[1.0]), "record 0: truncated: dimension 60000 needs 240000 bytes"),
            ([good.clone(), record(2, &[1.0, f32::NAN])].concat(), "record 1: value at index 1 is not a finite"),
            (record(1, &[f32::INFINITY]), "record 0: value at index 0 is not a finite number (inf)"),
        ];
        for (bytes, want) in cases {
            let err = read_all(&bytes).unwrap_err();
            assert!(err.message().contains(want), "{err} lacks {want:?}");
            assert!(err.message().starts_with("f: "), "{err}");
        }
    }

    #[test]
    fn a_file_shorter_than_its_length_is_a_truncation_error() {
        // The length said 100 bytes, the reader has 8: the file shrank.
        let bytes = record(2, &[1.0]);
        let mut r = FvecsReader::new(Cursor::new(&bytes), 100, "f");
        assert!(r.next_vector().unwrap_err().message().contains("truncated"));
    }

    #[test]
    fn scores_follow_the_metric() {
        assert_eq!(Metric::L2.score(9.0), 3.0);
        assert_eq!(Metric::Cosine.score(0.25), 0.75);
        assert_eq!(Metric::Dot.score(-2.5), 2.5);
    }

    #[test]
    fn vectors_from_json() {
        assert_eq!(parse_vector("[1, 2.5, -3]").unwrap(), vec![1.0, 2.5, -3.0]);
        assert!(parse_vector("[1, \"x\"]").unwrap_err().message().contains("index 1 is not a number"));
        assert!(parse_vector("[1e300]").unwrap_err().message().contains("out of range"));
        assert!(parse_vector("{}").unwrap_err().message().contains("JSON array"));
        assert!(parse_vector("[").unwrap_err().message().contains("not valid JSON"));
    }
}
