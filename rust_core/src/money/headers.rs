//! The `x-ratelimit-*` headers, in OpenAI's format.
//!
//! `-requests` describe the requests-per-minute bucket, or the requests-per-day
//! bucket when only that one is limited; `-tokens` describe tokens per minute.
//! A header is absent when its bucket is unlimited. Reset values are durations
//! until the bucket is full again, such as `1s`, `6m0s` or `12ms`.

use super::admission::BucketReport;

/// Format milliseconds as OpenAI does: `12ms` below a second, else `1s`, `6m0s`,
/// `1h2m3s`, with seconds rounded up.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let seconds = ms.div_ceil(1000);
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// The rate-limit headers for the buckets reported by admission.
pub fn rate_limit_headers(limits: &[BucketReport]) -> Vec<(&'static str, String)> {
    let find = |name: &str| limits.iter().find(|bucket| bucket.name == name);
    let mut headers = Vec::new();
    if let Some(requests) = find("rpm").or_else(|| find("rpd")) {
        headers.push(("x-ratelimit-limit-requests", requests.limit.to_string()));
        headers.push((
            "x-ratelimit-remaining-requests",
            requests.remaining.to_string(),
        ));
        headers.push(("x-ratelimit-reset-requests", duration(requests.reset_ms)));
    }
    if let Some(tokens) = find("tpm") {
        headers.push(("x-ratelimit-limit-tokens", tokens.limit.to_string()));
        headers.push(("x-ratelimit-remaining-tokens", tokens.remaining.to_string()));
        headers.push(("x-ratelimit-reset-tokens", duration(tokens.reset_ms)));
    }
    headers
}

/// `Retry-After` in whole seconds, at least 1.
pub fn retry_after_seconds(ms: u64) -> u64 {
    ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_openai() {
        assert_eq!(duration(12), "12ms");
        assert_eq!(duration(0), "0ms");
        assert_eq!(duration(1000), "1s");
        assert_eq!(duration(1001), "2s");
        assert_eq!(duration(360_000), "6m0s");
        assert_eq!(duration(3_723_000), "1h2m3s");
    }

    #[test]
    fn requests_fall_back_to_the_daily_bucket() {
        let limits = vec![BucketReport {
            name: "rpd".into(),
            limit: 100,
            remaining: 99,
            reset_ms: 864_000,
        }];
        let headers = rate_limit_headers(&limits);
        assert_eq!(headers.len(), 3);
        assert_eq!(headers[0], ("x-ratelimit-limit-requests", "100".into()));
        assert_eq!(headers[2], ("x-ratelimit-reset-requests", "14m24s".into()));
    }

    #[test]
    fn retry_after_is_at_least_a_second() {
        assert_eq!(retry_after_seconds(1), 1);
        assert_eq!(retry_after_seconds(20_000), 20);
        assert_eq!(retry_after_seconds(20_001), 21);
    }
}
