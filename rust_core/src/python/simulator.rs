//! The simulator's binding: `start_simulator(config_json) -> Simulator`.

use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::StartupError;
use crate::simulator::{self, SimConfig};

/// Time open responses get to finish when the simulator stops.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// A running upstream simulator.
#[pyclass(frozen, name = "Simulator")]
struct Simulator {
    running: Mutex<Option<simulator::Running>>,
    port: u16,
}

#[pymethods]
impl Simulator {
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// Stop serving and drop responses still open after half a second.
    fn stop(&self, py: Python<'_>) {
        let running = match self.running.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(running) = running {
            py.detach(|| running.stop(STOP_GRACE));
        }
    }
}

#[pyfunction]
fn start_simulator(py: Python<'_>, config_json: &str) -> PyResult<Simulator> {
    let config = SimConfig::from_json(config_json)
        .map_err(|err| PyValueError::new_err(format!("invalid simulator settings: {err}")))?;
    let running = py
        .detach(|| simulator::start(config, STOP_GRACE))
        .map_err(|err| StartupError::new_err(err.to_string()))?;
    let port = running.local_addr().port();
    Ok(Simulator {
        running: Mutex::new(Some(running)),
        port,
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Simulator>()?;
    m.add_function(wrap_pyfunction!(start_simulator, m)?)?;
    Ok(())
}
