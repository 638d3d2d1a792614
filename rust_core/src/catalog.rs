//! The model catalog: which provider serves a model name, under which
//! upstream id, at what price.
//!
//! The shipped catalog (`rust_core/catalog/models.toml`) is compiled in; the
//! operator's file named by `catalog_path` is merged over it at start-up. An
//! operator entry whose `id` already exists overrides only the fields it
//! gives; a new id must give every price and limit. Prices are read as
//! decimal strings (or TOML numbers) in USD per million tokens and stored as
//! integer nano-USD per million tokens, so no float reaches the arithmetic.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::error::GatewayError;
use crate::money::Prices;
use crate::translate::Provider;

const SHIPPED: &str = include_str!("../catalog/models.toml");

/// Output limit used when an entry gives no `default_max_tokens`, capped by the model's own limit.
const DEFAULT_MAX_TOKENS_CAP: u32 = 4096;
const NANOS_PER_USD: u64 = 1_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{file} is not a valid catalog: {reason}")]
    Parse { file: String, reason: String },
    #[error("{file}: model {id:?}: {reason}")]
    Entry {
        file: String,
        id: String,
        reason: String,
    },
    #[error("could not read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
}

/// One routable model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    pub id: String,
    pub provider: Provider,
    pub upstream_id: String,
    /// Nano-USD per million uncached prompt tokens.
    pub input_nanos: u64,
    /// Nano-USD per million prompt tokens read from the provider's cache.
    pub cached_input_nanos: u64,
    /// Nano-USD per million prompt tokens written to the provider's cache.
    pub cache_write_nanos: u64,
    /// Nano-USD per million completion tokens.
    pub output_nanos: u64,
    pub context_window: u32,
    pub max_output_tokens: u32,
    pub default_max_tokens: u32,
}

impl ModelInfo {
    /// Returns the model's prices, for pricing a call's usage with `money::cost_nanos`.
    pub fn prices(&self) -> Prices {
        Prices {
            input: self.input_nanos,
            cached_input: self.cached_input_nanos,
            cache_write: Some(self.cache_write_nanos),
            output: self.output_nanos,
        }
    }
}

/// Infer a model's provider from its family prefix, for entries that omit `provider`.
pub fn provider_for_name(name: &str) -> Option<Provider> {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| name.starts_with(p));
    if starts(&["gpt-", "o1", "o3", "o4", "chatgpt-"]) {
        Some(Provider::Openai)
    } else if starts(&["claude-"]) {
        Some(Provider::Anthropic)
    } else if starts(&["gemini-"]) {
        Some(Provider::Google)
    } else if starts(&["grok-"]) {
        Some(Provider::Xai)
    } else {
        None
    }
}

/// A price as written in the file: a decimal string, an integer or a float.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum RawPrice {
    Text(String),
    Integer(i64),
    Float(f64),
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    provider: Option<String>,
    upstream_id: Option<String>,
    input: Option<RawPrice>,
    cached_input: Option<RawPrice>,
    cache_write: Option<RawPrice>,
    output: Option<RawPrice>,
    context_window: Option<u32>,
    max_output_tokens: Option<u32>,
    default_max_tokens: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    models: Vec<RawEntry>,
}

/// Convert USD written as a decimal (`"0.15"`, `2`, `0.075`) into nano-USD, exactly.
fn usd_to_nanos(price: &RawPrice) -> Result<u64, String> {
    let text = match price {
        RawPrice::Text(text) => text.trim().to_owned(),
        RawPrice::Integer(value) => value.to_string(),
        // The shortest representation that reads back as the same float is the decimal written.
        RawPrice::Float(value) => format!("{value}"),
    };
    let invalid = || format!("price {text:?} is not a non-negative decimal with at most 9 places");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return Err(invalid());
    }
    let whole: u64 = whole.parse().map_err(|_| invalid())?;
    let padded = format!("{fraction:0<9}");
    let fraction: u64 = padded.parse().map_err(|_| invalid())?;
    whole
        .checked_mul(NANOS_PER_USD)
        .and_then(|nanos| nanos.checked_add(fraction))
        .ok_or_else(invalid)
}

/// Every routable model, in catalog order.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    models: Vec<Arc<ModelInfo>>,
    by_id: HashMap<String, usize>,
}

impl Catalog {
    /// Load the shipped catalog and merge the operator's file, if any, over it.
    pub fn load(operator_file: Option<&Path>) -> Result<Self, CatalogError> {
        let mut entries = parse_file(SHIPPED, "the shipped catalog")?;
        if let Some(path) = operator_file {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
                file: file.clone(),
                source,
            })?;
            for entry in parse_file(&text, &file)? {
                merge(&mut entries, entry);
            }
        }
        let file = operator_file.map_or("the shipped catalog".to_owned(), |p| {
            p.display().to_string()
        });
        let mut catalog = Catalog::default();
        for entry in entries {
            let id = entry.id.clone();
            let model = build(entry).map_err(|reason| CatalogError::Entry {
                file: file.clone(),
                id,
                reason,
            })?;
            catalog.by_id.insert(model.id.clone(), catalog.models.len());
            catalog.models.push(Arc::new(model));
        }
        Ok(catalog)
    }

    pub fn models(&self) -> impl Iterator<Item = &Arc<ModelInfo>> {
        self.models.iter()
    }

    pub fn get(&self, id: &str) -> Option<&Arc<ModelInfo>> {
        self.by_id.get(id).map(|&index| &self.models[index])
    }

    /// Resolve a client's `model`: a catalog id, or `<provider>/<id>` naming the provider.
    pub fn resolve(&self, name: &str) -> Result<&Arc<ModelInfo>, GatewayError> {
        let found = match name.split_once('/') {
            Some((prefix, id)) => match Provider::parse(prefix) {
                Some(provider) => self.get(id).filter(|model| model.provider == provider),
                None => self.get(name),
            },
            None => self.get(name),
        };
        found.ok_or_else(|| {
            GatewayError::new(
                "model_not_found",
                format!(
                    "The model `{name}` does not exist or is not in this gateway's catalog; \
                     GET /v1/models lists the models you can use"
                ),
            )
            .with_param("model")
        })
    }
}

fn parse_file(text: &str, file: &str) -> Result<Vec<RawEntry>, CatalogError> {
    let raw: RawFile = toml::from_str(text).map_err(|err| CatalogError::Parse {
        file: file.to_owned(),
        reason: err.to_string(),
    })?;
    Ok(raw.models)
}

/// Apply an operator entry: override the given fields of an existing id, or append a new one.
fn merge(entries: &mut Vec<RawEntry>, entry: RawEntry) {
    let Some(existing) = entries.iter_mut().find(|e| e.id == entry.id) else {
        entries.push(entry);
        return;
    };
    macro_rules! take {
        ($($field:ident),*) => {$(
            if entry.$field.is_some() {
                existing.$field = entry.$field.clone();
            }
        )*};
    }
    take!(
        provider,
        upstream_id,
        input,
        cached_input,
        cache_write,
        output,
        context_window,
        max_output_tokens,
        default_max_tokens
    );
}

fn build(entry: RawEntry) -> Result<ModelInfo, String> {
    if entry.id.is_empty() || entry.id.contains('/') || entry.id.chars().any(char::is_whitespace) {
        return Err("id must be non-empty, without `/` or spaces".to_owned());
    }
    let provider = match &entry.provider {
        Some(name) => Provider::parse(name).ok_or_else(|| {
            format!("provider {name:?} is not one of openai, anthropic, google, xai")
        })?,
        None => provider_for_name(&entry.id)
            .ok_or("provider is missing and cannot be inferred from the id")?,
    };
    let price = |field: &str, value: &Option<RawPrice>| -> Result<u64, String> {
        let value = value
            .as_ref()
            .ok_or_else(|| format!("{field} is missing"))?;
        usd_to_nanos(value).map_err(|reason| format!("{field}: {reason}"))
    };
    let input_nanos = price("input", &entry.input)?;
    let output_nanos = price("output", &entry.output)?;
    let cached_input_nanos = match &entry.cached_input {
        Some(_) => price("cached_input", &entry.cached_input)?,
        None => input_nanos,
    };
    let cache_write_nanos = match &entry.cache_write {
        Some(_) => price("cache_write", &entry.cache_write)?,
        None => input_nanos,
    };
    let context_window = entry.context_window.ok_or("context_window is missing")?;
    let max_output_tokens = entry
        .max_output_tokens
        .ok_or("max_output_tokens is missing")?;
    if context_window == 0 || max_output_tokens == 0 {
        return Err("context_window and max_output_tokens must be positive".to_owned());
    }
    let default_max_tokens = entry
        .default_max_tokens
        .unwrap_or(DEFAULT_MAX_TOKENS_CAP)
        .min(max_output_tokens);
    Ok(ModelInfo {
        upstream_id: entry
            .upstream_id
            .clone()
            .unwrap_or_else(|| entry.id.clone()),
        id: entry.id,
        provider,
        input_nanos,
        cached_input_nanos,
        cache_write_nanos,
        output_nanos,
        context_window,
        max_output_tokens,
        default_max_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::cost_nanos;
    use crate::translate::Usage;

    fn nanos(text: &str) -> Result<u64, String> {
        usd_to_nanos(&RawPrice::Text(text.to_owned()))
    }

    #[test]
    fn decimal_prices_convert_exactly() {
        assert_eq!(nanos("0.15"), Ok(150_000_000));
        assert_eq!(nanos("10"), Ok(10_000_000_000));
        assert_eq!(nanos("0.000000001"), Ok(1));
        assert_eq!(usd_to_nanos(&RawPrice::Float(0.075)), Ok(75_000_000));
        assert_eq!(usd_to_nanos(&RawPrice::Integer(3)), Ok(3_000_000_000));
    }

    #[test]
    fn malformed_prices_rejected() {
        for bad in ["", "-1", "1.0000000001", "1e3", "abc", ".5", "1.2.3"] {
            assert!(nanos(bad).is_err(), "{bad:?} accepted");
        }
        assert!(usd_to_nanos(&RawPrice::Integer(-2)).is_err());
    }

    #[test]
    fn shipped_catalog_loads() {
        let catalog = Catalog::load(None).unwrap();
        let mini = catalog.get("gpt-4o-mini").unwrap();
        assert_eq!(mini.provider, Provider::Openai);
        assert_eq!(mini.input_nanos, 150_000_000);
        assert_eq!(mini.default_max_tokens, 4096);
        for model in catalog.models() {
            assert_eq!(
                provider_for_name(&model.id),
                Some(model.provider),
                "{}",
                model.id
            );
        }
    }

    #[test]
    fn resolve_by_id_and_provider_prefix() {
        let catalog = Catalog::load(None).unwrap();
        assert_eq!(catalog.resolve("grok-3").unwrap().provider, Provider::Xai);
        assert_eq!(catalog.resolve("xai/grok-3").unwrap().id, "grok-3");
        assert_eq!(
            catalog.resolve("openai/grok-3").unwrap_err().code,
            "model_not_found"
        );
        assert_eq!(
            catalog.resolve("gpt-unknown").unwrap_err().code,
            "model_not_found"
        );
    }

    #[test]
    fn operator_file_overrides_and_adds() {
        let dir = std::env::temp_dir().join(format!("catalog-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("extra.toml");
        std::fs::write(
            &path,
            r#"
            [[models]]
            id = "gpt-4o-mini"
            output = "0.5"

            [[models]]
            id = "house-model"
            provider = "openai"
            upstream_id = "ft:gpt-4o-mini:acme"
            input = 1
            output = 2.5
            context_window = 1000
            max_output_tokens = 100
            "#,
        )
        .unwrap();
        let catalog = Catalog::load(Some(&path)).unwrap();
        let mini = catalog.get("gpt-4o-mini").unwrap();
        assert_eq!(mini.output_nanos, 500_000_000);
        assert_eq!(mini.input_nanos, 150_000_000);
        let house = catalog.get("house-model").unwrap();
        assert_eq!(house.upstream_id, "ft:gpt-4o-mini:acme");
        assert_eq!(house.cached_input_nanos, 1_000_000_000);
        assert_eq!(house.default_max_tokens, 100);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn incomplete_new_entry_names_the_field() {
        let mut entries = parse_file(SHIPPED, "x").unwrap();
        merge(
            &mut entries,
            RawEntry {
                id: "claude-new".to_owned(),
                input: Some(RawPrice::Integer(1)),
                ..RawEntry::default()
            },
        );
        let last = entries.pop().unwrap();
        assert_eq!(build(last).unwrap_err(), "output is missing");
    }

    #[test]
    fn cost_is_exact_and_rounds_up() {
        let catalog = Catalog::load(None).unwrap();
        let mini = catalog.get("gpt-4o-mini").unwrap();
        let usage = Usage {
            prompt_tokens: 1_000,
            cached_tokens: 200,
            completion_tokens: 500,
            ..Usage::default()
        };
        // 800 * 0.15 + 200 * 0.075 + 500 * 0.60 USD per million = 435 micro-USD.
        assert_eq!(cost_nanos(&mini.prices(), &usage), 435_000);
        let one = Usage {
            prompt_tokens: 1,
            ..Usage::default()
        };
        assert_eq!(cost_nanos(&mini.prices(), &one), 150);
        let cheap = ModelInfo {
            input_nanos: 1,
            ..ModelInfo::clone(mini)
        };
        // One nano-USD per million tokens makes one token cost a millionth of a nano-USD.
        assert_eq!(cost_nanos(&cheap.prices(), &one), 1);
    }

    #[test]
    fn cache_writes_default_to_the_input_price() {
        let catalog = Catalog::load(None).unwrap();
        let mini = catalog.get("gpt-4o-mini").unwrap();
        assert_eq!(mini.cache_write_nanos, mini.input_nanos);
        let haiku = catalog.get("claude-haiku-4-5").unwrap();
        // Anthropic bills five-minute cache writes at 1.25 times the input price.
        assert_eq!(haiku.cache_write_nanos, 1_250_000_000);
        let written = Usage {
            prompt_tokens: 1_000_000,
            cache_write_tokens: 1_000_000,
            ..Usage::default()
        };
        assert_eq!(cost_nanos(&haiku.prices(), &written), 1_250_000_000);
    }
}
