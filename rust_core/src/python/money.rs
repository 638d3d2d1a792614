//! The money binding: the Lua scripts' text and the cost functions.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::money::{self, Prices};
use crate::translate::Usage;

/// The full text of the money script `name` (shared helpers included).
#[pyfunction]
fn lua_script(name: &str) -> PyResult<&'static str> {
    money::scripts::source(name)
        .ok_or_else(|| PyValueError::new_err(format!("no money script named {name:?}")))
}

/// Names of every money script.
#[pyfunction]
fn lua_script_names() -> Vec<&'static str> {
    money::scripts::SOURCES
        .iter()
        .map(|(name, _)| *name)
        .collect()
}

fn prices(input: u64, cached_input: u64, cache_write: Option<u64>, output: u64) -> Prices {
    Prices {
        input,
        cached_input,
        cache_write,
        output,
    }
}

fn usage(prompt: u64, cached: u64, cache_write: u64, completion: u64) -> Usage {
    Usage {
        prompt_tokens: prompt,
        cached_tokens: cached,
        cache_write_tokens: cache_write,
        completion_tokens: completion,
        reasoning_tokens: 0,
    }
}

/// Provider cost in nano-USD of a call's usage at prices in nano-USD per million tokens.
#[pyfunction]
#[pyo3(signature = (*, input, cached_input, output, cache_write=None, prompt_tokens,
                    cached_tokens=0, cache_write_tokens=0, completion_tokens))]
#[allow(clippy::too_many_arguments)]
fn cost_nanos(
    input: u64,
    cached_input: u64,
    output: u64,
    cache_write: Option<u64>,
    prompt_tokens: u64,
    cached_tokens: u64,
    cache_write_tokens: u64,
    completion_tokens: u64,
) -> u64 {
    money::cost_nanos(
        &prices(input, cached_input, cache_write, output),
        &usage(
            prompt_tokens,
            cached_tokens,
            cache_write_tokens,
            completion_tokens,
        ),
    )
}

/// End-user charge in nano-USD: the cost with `markup_bp` basis points, rounded once.
#[pyfunction]
#[pyo3(signature = (*, input, cached_input, output, cache_write=None, prompt_tokens,
                    cached_tokens=0, cache_write_tokens=0, completion_tokens, markup_bp))]
#[allow(clippy::too_many_arguments)]
fn charge_nanos(
    input: u64,
    cached_input: u64,
    output: u64,
    cache_write: Option<u64>,
    prompt_tokens: u64,
    cached_tokens: u64,
    cache_write_tokens: u64,
    completion_tokens: u64,
    markup_bp: u64,
) -> u64 {
    money::charge_nanos(
        &prices(input, cached_input, cache_write, output),
        &usage(
            prompt_tokens,
            cached_tokens,
            cache_write_tokens,
            completion_tokens,
        ),
        markup_bp,
    )
}

/// Basis points of a markup percentage written with at most two decimals.
#[pyfunction]
fn markup_bp(percent: &str) -> PyResult<u64> {
    money::markup_bp(percent).ok_or_else(|| {
        PyValueError::new_err(format!(
            "markup {percent:?} is not a percentage with at most 2 decimals"
        ))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(lua_script, m)?)?;
    m.add_function(wrap_pyfunction!(lua_script_names, m)?)?;
    m.add_function(wrap_pyfunction!(cost_nanos, m)?)?;
    m.add_function(wrap_pyfunction!(charge_nanos, m)?)?;
    m.add_function(wrap_pyfunction!(markup_bp, m)?)?;
    Ok(())
}
