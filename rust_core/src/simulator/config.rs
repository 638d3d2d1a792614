//! Server-wide settings of the simulator, read from JSON.

use std::collections::HashMap;

use serde::Deserialize;

use super::split::Split;
use crate::translate::Provider;

/// Settings of one simulator instance. Every field has a default, so `{}` is valid.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// Tokio worker threads; 0 means one per CPU.
    pub threads: usize,
    /// Delay before the response headers, in milliseconds.
    pub latency_ms: u64,
    /// Delay between the response headers and the first token, in milliseconds.
    pub ttft_ms: u64,
    /// Pace of the tokens after the first; 0 sends them as fast as possible.
    pub tokens_per_second: f64,
    /// The way response bodies are cut into writes: `none`, `bytes:N` or `adversarial`.
    pub split: String,
    /// The API key each provider requires, by provider name (`openai`, `xai`, `anthropic`,
    /// `google`). A provider without an entry accepts any key or none.
    pub api_keys: HashMap<String, String>,
    /// How many recent requests `GET /_sim/requests` can return; 0 records nothing.
    pub record_limit: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 0,
            threads: 0,
            latency_ms: 0,
            ttft_ms: 0,
            tokens_per_second: 0.0,
            split: "none".to_owned(),
            api_keys: HashMap::new(),
            record_limit: 1000,
        }
    }
}

/// [`SimConfig`] after validation.
#[derive(Clone, Debug)]
pub struct Checked {
    pub raw: SimConfig,
    pub split: Split,
    pub api_keys: HashMap<Provider, String>,
}

impl SimConfig {
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Validate the settings, naming the first invalid one.
    pub fn check(self) -> Result<Checked, String> {
        let split = Split::parse(&self.split).map_err(|err| format!("split: {err}"))?;
        if !self.tokens_per_second.is_finite() || self.tokens_per_second < 0.0 {
            return Err(format!(
                "tokens_per_second: expected a number >= 0, got {}",
                self.tokens_per_second
            ));
        }
        let mut api_keys = HashMap::new();
        for (name, key) in &self.api_keys {
            let provider = Provider::parse(name).ok_or_else(|| {
                format!("api_keys: unknown provider {name:?}; expected openai, xai, anthropic or google")
            })?;
            api_keys.insert(provider, key.clone());
        }
        Ok(Checked {
            raw: self,
            split,
            api_keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_gives_defaults() {
        let config = SimConfig::from_json("{}").unwrap().check().unwrap();
        assert_eq!(config.raw.host, "127.0.0.1");
        assert_eq!(config.raw.record_limit, 1000);
        assert_eq!(config.split, Split::None);
    }

    #[test]
    fn unknown_provider_key_rejected() {
        let config = SimConfig::from_json(r#"{"api_keys": {"mistral": "k"}}"#).unwrap();
        assert!(config.check().unwrap_err().contains("mistral"));
    }

    #[test]
    fn unknown_setting_rejected() {
        assert!(SimConfig::from_json(r#"{"latency": 5}"#).is_err());
    }
}
