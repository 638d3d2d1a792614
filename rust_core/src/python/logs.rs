//! The request-log binding: the append script's text, for tools and tests that
//! write entries exactly as the data plane does.

use pyo3::prelude::*;

use crate::logs;

/// The Lua script that appends one request-log entry (see its header for KEYS and ARGV).
#[pyfunction]
fn log_append_script() -> &'static str {
    logs::APPEND_SCRIPT
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(log_append_script, m)?)?;
    Ok(())
}
