//! The Redis keys one call touches; all share the platform's hash tag.

use crate::layout;

/// Keys of the money and rate-limit state of one end user of one platform.
#[derive(Clone, Debug)]
pub struct CallKeys {
    pub money_settings: String,
    pub budget: String,
    pub budget_holds: String,
    pub budget_ledger: String,
    pub wallet: String,
    pub wallet_holds: String,
    pub wallet_ledger: String,
    pub rate_limits: String,
    pub end_user_rate_limits: String,
    pub rate_buckets: String,
    pub outbox: String,
    pub test_clock: String,
}

impl CallKeys {
    pub fn new(platform_id: &str, end_user_id: &str) -> Self {
        Self {
            money_settings: layout::money_settings(platform_id),
            budget: layout::budget(platform_id, end_user_id),
            budget_holds: layout::budget_holds(platform_id, end_user_id),
            budget_ledger: layout::budget_ledger(platform_id, end_user_id),
            wallet: layout::wallet(platform_id),
            wallet_holds: layout::wallet_holds(platform_id),
            wallet_ledger: layout::wallet_ledger(platform_id),
            rate_limits: layout::rate_limits(platform_id),
            end_user_rate_limits: layout::end_user_rate_limits(platform_id, end_user_id),
            rate_buckets: layout::rate_buckets(platform_id, end_user_id),
            outbox: layout::outbox(platform_id),
            test_clock: layout::test_clock(platform_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_platform_tag() {
        let keys = CallKeys::new("plat_1", "eu_1");
        let all = [
            &keys.money_settings,
            &keys.budget,
            &keys.budget_holds,
            &keys.budget_ledger,
            &keys.wallet,
            &keys.wallet_holds,
            &keys.wallet_ledger,
            &keys.rate_limits,
            &keys.end_user_rate_limits,
            &keys.rate_buckets,
            &keys.outbox,
            &keys.test_clock,
        ];
        for key in all {
            assert!(key.starts_with("ag:{plat_1}:"), "{key}");
        }
    }
}
