//! Panics: a Rust panic traps the module (`RuntimeError: unreachable`), which
//! says nothing. The hook keeps the message for `takePanic()` and logs it.

use std::sync::Mutex;

use wasm_bindgen::prelude::*;

static LAST: Mutex<Option<String>> = Mutex::new(None);

#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        web_sys::console::error_1(&format!("axon-wasm panicked: {msg}").into());
        if let Ok(mut last) = LAST.lock() {
            *last = Some(msg);
        }
    }));
}

/// The message of the last panic, if any, and forgets it. After a panic the
/// module's state is unknown: the caller should drop it and load a new one.
#[wasm_bindgen(js_name = takePanic)]
pub fn take_panic() -> Option<String> {
    LAST.lock().ok().and_then(|mut l| l.take())
}
