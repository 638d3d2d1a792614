//! The Lua scripts of every money change, embedded once for both planes.
//!
//! Each script under `rust_core/lua/` runs as `lib.lua` followed by its own
//! body (settlement also gets the request-log writer's function from
//! `rust_core/src/logs/append_lib.lua`), so the shared helpers need no second
//! round trip and every change stays one atomic EVAL. Rust runs them through [`redis::Script`] (EVALSHA,
//! with EVAL on `NOSCRIPT`); Python loads the same text with
//! `native.lua_script(name)` and redis-py's `register_script`.

use std::sync::OnceLock;

macro_rules! script {
    ($name:literal) => {
        (
            $name,
            concat!(
                include_str!("../../lua/lib.lua"),
                "\n",
                include_str!(concat!("../../lua/", $name, ".lua"))
            ),
        )
    };
}

/// Every script by name, with the shared helpers prepended.
pub const SOURCES: &[(&str, &str)] = &[
    script!("admit"),
    // Settlement also writes the call's request-log entry, with the log
    // writer's own function.
    (
        "settle",
        concat!(
            include_str!("../../lua/lib.lua"),
            "\n",
            include_str!("../logs/append_lib.lua"),
            "\n",
            include_str!("../../lua/settle.lua")
        ),
    ),
    script!("budget_read"),
    script!("budget_create"),
    script!("budget_update"),
    script!("budget_adjust"),
    script!("wallet_credit"),
    script!("wallet_read"),
    script!("idempotency_begin"),
    script!("idempotency_abandon"),
];

/// The full text of the script `name`.
pub fn source(name: &str) -> Option<&'static str> {
    SOURCES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, text)| *text)
}

fn cached(cell: &'static OnceLock<redis::Script>, name: &str) -> &'static redis::Script {
    cell.get_or_init(|| redis::Script::new(source(name).unwrap_or_default()))
}

/// The admission script.
pub fn admit() -> &'static redis::Script {
    static CELL: OnceLock<redis::Script> = OnceLock::new();
    cached(&CELL, "admit")
}

/// The settlement script.
pub fn settle() -> &'static redis::Script {
    static CELL: OnceLock<redis::Script> = OnceLock::new();
    cached(&CELL, "settle")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_has_the_helpers_and_a_header() {
        for (name, text) in SOURCES {
            assert!(text.contains("local function now_ms"), "{name}");
            let body = text.split_once("\n-- ").map(|(_, rest)| rest).unwrap_or("");
            assert!(!body.is_empty(), "{name}");
        }
        assert!(source("admit").is_some());
        assert!(source("nope").is_none());
    }
}
