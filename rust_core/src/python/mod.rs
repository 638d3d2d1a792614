//! The PyO3 binding, imported in Python as `control_plane._rust_core`.
//!
//! Conversions happen in this module tree and nowhere else; every call that
//! blocks (start, stop) releases the GIL. Each area adds a submodule with a
//! `register` function and one line in [`_rust_core`].

use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::config::{Config, LogFormat};
use crate::crypto::{self, MasterKey};
use crate::{error, ids, keyhash, layout, logging, server};

mod logs;
mod money;
mod simulator;

create_exception!(_rust_core, StartupError, PyRuntimeError);

/// A running data plane.
#[pyclass(frozen, name = "DataPlane")]
struct DataPlane {
    running: Mutex<Option<server::Running>>,
    port: u16,
}

#[pymethods]
impl DataPlane {
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// Stop accepting and wait up to `grace_seconds` for in-flight requests.
    fn stop(&self, py: Python<'_>, grace_seconds: f64) {
        let running = match self.running.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(running) = running {
            let grace = Duration::from_secs_f64(grace_seconds.max(0.0));
            py.detach(|| running.stop(grace));
        }
    }
}

#[pyfunction]
fn start_data_plane(py: Python<'_>, config_json: &str, grace_seconds: f64) -> PyResult<DataPlane> {
    let config = Config::from_json(config_json)
        .map_err(|err| PyValueError::new_err(format!("invalid data-plane settings: {err}")))?;
    let grace = Duration::from_secs_f64(grace_seconds.max(0.0));
    let running = py
        .detach(|| server::start(config, grace))
        .map_err(|err| StartupError::new_err(err.to_string()))?;
    let port = running.local_addr().port();
    Ok(DataPlane {
        running: Mutex::new(Some(running)),
        port,
    })
}

#[pyfunction]
fn init_logging(level: &str, format: &str) -> PyResult<()> {
    let format = match format {
        "json" => LogFormat::Json,
        "text" => LogFormat::Text,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown log format {other:?}"
            )))
        }
    };
    logging::init(level, format);
    Ok(())
}

#[pyfunction]
fn hash_key(pepper_hex: &str, raw_key: &str) -> PyResult<String> {
    let pepper = hex::decode(pepper_hex)
        .map_err(|err| PyValueError::new_err(format!("pepper is not hex: {err}")))?;
    Ok(keyhash::hash_key(&pepper, raw_key))
}

#[pyfunction]
fn generate_key(kind: &str) -> PyResult<String> {
    let kind = match kind {
        "platform" => keyhash::KeyKind::Platform,
        "end_user" => keyhash::KeyKind::EndUser,
        other => return Err(PyValueError::new_err(format!("unknown key kind {other:?}"))),
    };
    Ok(keyhash::generate_key(kind))
}

#[pyfunction]
fn key_prefix(raw_key: &str) -> String {
    keyhash::key_prefix(raw_key)
}

/// `"platform"`, `"end_user"`, or None for a malformed key.
#[pyfunction]
fn parse_key_kind(raw_key: &str) -> Option<&'static str> {
    keyhash::parse_kind(raw_key).map(keyhash::KeyKind::as_str)
}

#[pyfunction]
fn new_id(prefix: &str) -> String {
    ids::new_id(prefix)
}

#[pyfunction]
fn id_millis(id: &str) -> Option<u64> {
    ids::id_millis(id)
}

#[pyfunction]
#[pyo3(signature = (name, *parts))]
fn redis_key(name: &str, parts: &Bound<'_, PyTuple>) -> PyResult<String> {
    let parts: Vec<String> = parts.extract()?;
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    layout::by_name(name, &refs).ok_or_else(|| {
        PyValueError::new_err(format!("no Redis key {name:?} takes {} parts", refs.len()))
    })
}

/// `{code: (status, type)}` for every error code.
#[pyfunction]
fn error_codes(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let table = PyDict::new(py);
    for info in error::CODES {
        table.set_item(info.code, (info.status, info.error_type))?;
    }
    Ok(table)
}

#[pyfunction]
#[pyo3(signature = (code, message, request_id, param=None, error_type=None))]
fn error_envelope<'py>(
    py: Python<'py>,
    code: &str,
    message: &str,
    request_id: &str,
    param: Option<&str>,
    error_type: Option<&str>,
) -> Bound<'py, PyBytes> {
    PyBytes::new(
        py,
        &error::envelope(code, message, param, request_id, error_type),
    )
}

/// AES-256-GCM keyring: the current master key and retired ones.
#[pyclass(frozen, name = "Keyring")]
struct PyKeyring {
    inner: crypto::Keyring,
}

#[pymethods]
impl PyKeyring {
    #[new]
    #[pyo3(signature = (master_key, retired=Vec::new()))]
    fn new(master_key: &str, retired: Vec<String>) -> PyResult<Self> {
        let decode = |value: &str| -> PyResult<MasterKey> {
            let bytes = STANDARD
                .decode(value)
                .map_err(|err| PyValueError::new_err(format!("master key is not base64: {err}")))?;
            MasterKey::new(&bytes).map_err(|err| PyValueError::new_err(err.to_string()))
        };
        let current = decode(master_key)?;
        let retired = retired
            .iter()
            .map(|key| decode(key))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            inner: crypto::Keyring::new(current, retired),
        })
    }

    #[getter]
    fn current_id(&self) -> &str {
        self.inner.current_id()
    }

    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> PyResult<String> {
        self.inner
            .seal(plaintext, aad)
            .map_err(|err| PyValueError::new_err(err.to_string()))
    }

    fn open<'py>(
        &self,
        py: Python<'py>,
        sealed: &str,
        aad: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let plain = self
            .inner
            .open(sealed, aad)
            .map_err(|err| PyValueError::new_err(err.to_string()))?;
        Ok(PyBytes::new(py, &plain))
    }
}

#[pymodule]
fn _rust_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("StartupError", m.py().get_type::<StartupError>())?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<DataPlane>()?;
    m.add_class::<PyKeyring>()?;
    m.add_function(wrap_pyfunction!(start_data_plane, m)?)?;
    m.add_function(wrap_pyfunction!(init_logging, m)?)?;
    m.add_function(wrap_pyfunction!(hash_key, m)?)?;
    m.add_function(wrap_pyfunction!(generate_key, m)?)?;
    m.add_function(wrap_pyfunction!(key_prefix, m)?)?;
    m.add_function(wrap_pyfunction!(parse_key_kind, m)?)?;
    m.add_function(wrap_pyfunction!(new_id, m)?)?;
    m.add_function(wrap_pyfunction!(id_millis, m)?)?;
    m.add_function(wrap_pyfunction!(redis_key, m)?)?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(error_envelope, m)?)?;
    money::register(m)?;
    simulator::register(m)?;
    logs::register(m)?;
    Ok(())
}
