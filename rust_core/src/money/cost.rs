//! Cost metering: token usage times catalog prices, in integer nano-USD.
//!
//! Prices are nano-USD per million tokens. A call's provider cost is what the
//! platform's wallet pays; the end user's charge adds the platform's markup.
//! Both are rounded once per call, up to the next nano-USD, so a call is never
//! charged less than its exact price.

use serde_json::Value;

use crate::translate::Usage;

const TOKENS_PER_PRICE_UNIT: u128 = 1_000_000;
const BASIS_POINTS: u128 = 10_000;

/// Prompt tokens allowed per message on top of its bytes (role and framing tokens).
pub const TOKENS_PER_MESSAGE: u64 = 16;
/// Prompt tokens allowed per image, audio or file part, whose bytes may be a short URL.
pub const TOKENS_PER_MEDIA_PART: u64 = 8_192;

/// A model's prices in nano-USD per million tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prices {
    /// Uncached prompt tokens.
    pub input: u64,
    /// Prompt tokens read from the provider's cache.
    pub cached_input: u64,
    /// Prompt tokens written to the provider's cache; the input price when absent.
    pub cache_write: Option<u64>,
    /// Completion tokens, reasoning tokens included.
    pub output: u64,
}

impl Prices {
    fn cache_write_price(&self) -> u64 {
        self.cache_write.unwrap_or(self.input)
    }

    /// The highest price a prompt token can have, for upper bounds.
    pub fn max_prompt_price(&self) -> u64 {
        self.input
            .max(self.cached_input)
            .max(self.cache_write_price())
    }
}

/// The exact price of `usage` before rounding, in millionths of a nano-USD.
fn scaled(prices: &Prices, usage: &Usage) -> u128 {
    let cached = usage.cached_tokens.min(usage.prompt_tokens);
    let written = usage.cache_write_tokens.min(usage.prompt_tokens - cached);
    let uncached = usage.prompt_tokens - cached - written;
    u128::from(uncached) * u128::from(prices.input)
        + u128::from(cached) * u128::from(prices.cached_input)
        + u128::from(written) * u128::from(prices.cache_write_price())
        + u128::from(usage.completion_tokens) * u128::from(prices.output)
}

fn saturate(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// The provider cost of `usage` in nano-USD, rounded up.
///
/// `usage` follows OpenAI's convention: `prompt_tokens` counts cache reads and
/// writes, `completion_tokens` counts reasoning tokens, so reasoning is priced
/// as output.
pub fn cost_nanos(prices: &Prices, usage: &Usage) -> u64 {
    saturate(scaled(prices, usage).div_ceil(TOKENS_PER_PRICE_UNIT))
}

/// The end user's charge for `usage`: the provider cost plus `markup_bp` basis
/// points, rounded up once from the exact value.
pub fn charge_nanos(prices: &Prices, usage: &Usage, markup_bp: u64) -> u64 {
    let numerator = scaled(prices, usage) * (BASIS_POINTS + u128::from(markup_bp));
    saturate(numerator.div_ceil(TOKENS_PER_PRICE_UNIT * BASIS_POINTS))
}

/// A cost with `markup_bp` basis points added, rounded up; the admission script
/// computes the same from the rounded maximum cost.
pub fn with_markup(cost: u64, markup_bp: u64) -> u64 {
    let value = u128::from(cost) * (BASIS_POINTS + u128::from(markup_bp));
    saturate(value.div_ceil(BASIS_POINTS))
}

/// Basis points of a markup percentage with at most two decimals, such as "12.5".
pub fn markup_bp(percent: &str) -> Option<u64> {
    let (whole, fraction) = percent.split_once('.').unwrap_or((percent, ""));
    if whole.is_empty() || fraction.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let fraction: u64 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

/// An upper bound of a chat request's prompt tokens.
///
/// Each token of the supported providers' tokenizers (byte-level BPE and
/// SentencePiece) covers at least one byte of text, so the body's size bounds
/// the text tokens, tool definitions included.
/// Each message adds [`TOKENS_PER_MESSAGE`] and each image, audio or file part
/// [`TOKENS_PER_MEDIA_PART`], because a part sent by URL costs more tokens than
/// its bytes.
pub fn prompt_bound(body_len: usize, body: &serde_json::Map<String, Value>) -> u64 {
    let mut messages = 0u64;
    let mut media = 0u64;
    if let Some(Value::Array(list)) = body.get("messages") {
        for message in list {
            messages += 1;
            if let Some(Value::Array(parts)) = message.get("content") {
                media += parts
                    .iter()
                    .filter(|part| {
                        let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
                        !matches!(kind, "text" | "refusal")
                    })
                    .count() as u64;
            }
        }
    }
    (body_len as u64)
        .saturating_add(messages.saturating_mul(TOKENS_PER_MESSAGE))
        .saturating_add(media.saturating_mul(TOKENS_PER_MEDIA_PART))
}

/// The most a call can cost: every prompt token at the highest prompt price
/// plus `max_output_tokens` at the output price, rounded up.
pub fn max_cost_nanos(prices: &Prices, prompt_bound: u64, max_output_tokens: u64) -> u64 {
    let scaled = u128::from(prompt_bound) * u128::from(prices.max_prompt_price())
        + u128::from(max_output_tokens) * u128::from(prices.output);
    saturate(scaled.div_ceil(TOKENS_PER_PRICE_UNIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    // gpt-4o-mini list prices: 0.15 USD input, 0.075 cached, 0.60 output per million tokens.
    const MINI: Prices = Prices {
        input: 150_000_000,
        cached_input: 75_000_000,
        cache_write: None,
        output: 600_000_000,
    };

    fn usage(prompt: u64, cached: u64, written: u64, completion: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            cached_tokens: cached,
            cache_write_tokens: written,
            completion_tokens: completion,
            reasoning_tokens: 0,
        }
    }

    #[test]
    fn cost_prices_cached_tokens_apart() {
        // 1000 uncached * 150 + 1000 cached * 75 + 500 * 600 nano-USD per thousand tokens.
        assert_eq!(cost_nanos(&MINI, &usage(2000, 1000, 0, 500)), 525_000);
    }

    #[test]
    fn cost_rounds_up_to_next_nano() {
        assert_eq!(cost_nanos(&MINI, &usage(1, 0, 0, 0)), 150);
        let cheap = Prices { input: 1, ..MINI };
        assert_eq!(cost_nanos(&cheap, &usage(1, 0, 0, 0)), 1);
        assert_eq!(cost_nanos(&cheap, &usage(0, 0, 0, 0)), 0);
    }

    #[test]
    fn cache_writes_use_their_price() {
        // Claude Sonnet: 3 USD input, 0.30 cache read, 3.75 cache write, 15 output.
        let sonnet = Prices {
            input: 3_000_000_000,
            cached_input: 300_000_000,
            cache_write: Some(3_750_000_000),
            output: 15_000_000_000,
        };
        // 100 uncached, 1000 read, 200 written, 50 output.
        let cost = cost_nanos(&sonnet, &usage(1300, 1000, 200, 50));
        assert_eq!(cost, 300_000 + 300_000 + 750_000 + 750_000);
        let no_write_price = Prices {
            cache_write: None,
            ..sonnet
        };
        assert_eq!(
            cost_nanos(&no_write_price, &usage(1300, 1000, 200, 50)),
            300_000 + 300_000 + 600_000 + 750_000
        );
    }

    #[test]
    fn markup_rounds_once() {
        // One prompt token of a 1 nano-USD-per-million price costs 10^-6 nano-USD.
        let cheap = Prices { input: 1, ..MINI };
        assert_eq!(charge_nanos(&cheap, &usage(1, 0, 0, 0), 5_000), 1);
        assert_eq!(
            charge_nanos(&MINI, &usage(2000, 1000, 0, 500), 1_250),
            590_625
        );
        assert_eq!(charge_nanos(&MINI, &usage(2000, 1000, 0, 500), 0), 525_000);
    }

    #[test]
    fn markup_of_rounded_cost_bounds_charge() {
        for prompt in [1u64, 7, 333, 10_001] {
            let exact = charge_nanos(&MINI, &usage(prompt, 0, 0, 3), 1_234);
            let bound = with_markup(cost_nanos(&MINI, &usage(prompt, 0, 0, 3)), 1_234);
            assert!(exact <= bound);
        }
    }

    #[test]
    fn markup_percent_to_basis_points() {
        assert_eq!(markup_bp("0"), Some(0));
        assert_eq!(markup_bp("12.5"), Some(1_250));
        assert_eq!(markup_bp("1000"), Some(100_000));
        assert_eq!(markup_bp("0.01"), Some(1));
        assert_eq!(markup_bp("1.234"), None);
        assert_eq!(markup_bp("-1"), None);
        assert_eq!(markup_bp(""), None);
    }

    #[test]
    fn prompt_bound_counts_messages_and_media() {
        let body: serde_json::Map<String, Value> = serde_json::from_str(
            r#"{"messages":[{"role":"user","content":"hi"},{"role":"user","content":[
                {"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"u"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            prompt_bound(100, &body),
            100 + 2 * TOKENS_PER_MESSAGE + TOKENS_PER_MEDIA_PART
        );
    }

    #[test]
    fn max_cost_uses_highest_prompt_price() {
        let prices = Prices {
            cache_write: Some(200_000_000),
            ..MINI
        };
        assert_eq!(max_cost_nanos(&prices, 1000, 100), 200_000 + 60_000);
    }
}
