//! Test-only fault injection under the OPFS page store and log.
//!
//! Every write, flush and truncate of a [`SyncFile`](super::SyncFile) asks
//! [`check`] first. With no rule armed (always, outside tests) that is one
//! look at an empty list. A test page arms rules through the hidden export
//! `__axonTestFaults` (not in the package's typed API): a matching call then
//! fails the way the browser fails it, with a `DOMException` thrown into the
//! same error path as a real one (`QuotaExceededError` for writes and
//! truncates, `UnknownError` for flushes). A rule fires on every matching call
//! after its first `after` ones, until disarmed: a full disk stays full.
//!
//! Rules are JSON: `[{"file": "data"|"log"|"any", "op": "write"|"flush"|"truncate",
//! "after": n, "partial": bool}]`. `partial` (writes only) writes the first half
//! of the bytes before throwing, as a write torn by the quota would.

use std::cell::RefCell;

use serde_json::{json, Value as Json};
use wasm_bindgen::prelude::*;

/// Which database file a handle holds, for matching rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `data.axon`, the page file.
    Data,
    /// `wal-0.log` or `wal-1.log`.
    Log,
    /// Any other file (the conformance suite's scratch files).
    Other,
}

impl FileKind {
    /// The kind of file `name` (a file name inside a database directory).
    pub fn of(name: &str) -> FileKind {
        if name == super::DATA_FILE {
            FileKind::Data
        } else if super::LOG_FILES.contains(&name) {
            FileKind::Log
        } else {
            FileKind::Other
        }
    }
}

/// An operation a rule can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Write,
    Flush,
    Truncate,
}

/// What a fired rule does to the call.
#[derive(Debug)]
pub struct Fault {
    /// The exception the browser would have thrown.
    pub error: JsValue,
    /// Write the first half of the bytes before failing.
    pub partial: bool,
}

#[derive(Debug, PartialEq)]
struct Rule {
    file: Option<FileKind>,
    op: Op,
    after: u64,
    partial: bool,
}

#[derive(Default)]
struct Plan {
    rules: Vec<Rule>,
    /// Calls seen per (file, op) since the rules were last set, and faults fired.
    calls: [[u64; 3]; 3],
    fired: u64,
}

thread_local! {
    static PLAN: RefCell<Plan> = RefCell::new(Plan::default());
}

fn index(kind: FileKind, op: Op) -> (usize, usize) {
    let k = match kind {
        FileKind::Data => 0,
        FileKind::Log => 1,
        FileKind::Other => 2,
    };
    let o = match op {
        Op::Write => 0,
        Op::Flush => 1,
        Op::Truncate => 2,
    };
    (k, o)
}

/// Called before each `op` on a file of `kind`: the fault to inject, if a
/// rule fires.
pub fn check(kind: FileKind, op: Op) -> Option<Fault> {
    PLAN.with(|p| {
        let mut p = p.borrow_mut();
        if p.rules.is_empty() {
            return None;
        }
        let (k, o) = index(kind, op);
        let n = p.calls[k][o];
        p.calls[k][o] += 1;
        let rule = p.rules.iter().find(|r| r.op == op && r.file.is_none_or(|f| f == kind) && n >= r.after)?;
        let partial = rule.partial && op == Op::Write;
        p.fired += 1;
        let (message, name) = match op {
            Op::Write | Op::Truncate => ("injected fault: the storage quota is exceeded", "QuotaExceededError"),
            Op::Flush => ("injected fault: flush failed", "UnknownError"),
        };
        let error = web_sys::DomException::new_with_message_and_name(message, name).map(JsValue::from).ok()?;
        Some(Fault { error, partial })
    })
}

fn parse_rules(spec: &Json) -> Result<Vec<Rule>, String> {
    let items = spec.as_array().ok_or("fault rules must be a JSON array")?;
    items
        .iter()
        .map(|r| {
            let file = match r.get("file").and_then(Json::as_str).unwrap_or("any") {
                "data" => Some(FileKind::Data),
                "log" => Some(FileKind::Log),
                "any" => None,
                f => return Err(format!("unknown file {f:?}")),
            };
            let op = match r.get("op").and_then(Json::as_str) {
                Some("write") => Op::Write,
                Some("flush") => Op::Flush,
                Some("truncate") => Op::Truncate,
                o => return Err(format!("unknown op {o:?}")),
            };
            let after = r.get("after").map(|a| a.as_u64().ok_or("after must be a count")).transpose()?.unwrap_or(0);
            let partial = r.get("partial").and_then(Json::as_bool).unwrap_or(false);
            Ok(Rule { file, op, after, partial })
        })
        .collect()
}

/// Replaces the armed rules (`"[]"` disarms) and resets the call counts.
/// Returns JSON `{calls: {data: {write, flush, truncate}, log: {...}}, fired}`:
/// the counts under the rules being replaced. Test-only; not part of the
/// package's API.
#[doc(hidden)]
#[wasm_bindgen(js_name = __axonTestFaults)]
pub fn set_faults(spec: &str) -> Result<String, JsError> {
    let spec: Json = serde_json::from_str(spec).map_err(|e| JsError::new(&format!("fault rules: {e}")))?;
    let rules = parse_rules(&spec).map_err(|e| JsError::new(&format!("fault rules: {e}")))?;
    Ok(PLAN.with(|p| {
        let old = std::mem::replace(&mut *p.borrow_mut(), Plan { rules, ..Plan::default() });
        let ops = |c: [u64; 3]| json!({"write": c[0], "flush": c[1], "truncate": c[2]});
        json!({"calls": {"data": ops(old.calls[0]), "log": ops(old.calls[1])}, "fired": old.fired}).to_string()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_reject() {
        let r = parse_rules(&json!([{"file": "log", "op": "write", "after": 2, "partial": true}, {"op": "flush"}]))
            .unwrap();
        assert_eq!(r[0], Rule { file: Some(FileKind::Log), op: Op::Write, after: 2, partial: true });
        assert_eq!(r[1], Rule { file: None, op: Op::Flush, after: 0, partial: false });
        for bad in [
            json!({}),
            json!([{"op": "read"}]),
            json!([{"op": "write", "file": "x"}]),
            json!([{"op": "write", "after": -1}]),
        ] {
            assert!(parse_rules(&bad).is_err(), "{bad}");
        }
        assert_eq!(FileKind::of("data.axon"), FileKind::Data);
        assert_eq!(FileKind::of("wal-1.log"), FileKind::Log);
        assert_eq!(FileKind::of("a"), FileKind::Other);
    }

    #[test]
    fn no_rules_never_fire() {
        // Without rules `check` returns before touching JavaScript, so this
        // runs natively too.
        for op in [Op::Write, Op::Flush, Op::Truncate] {
            assert!(check(FileKind::Data, op).is_none());
        }
    }
}
