//! Stored responses in Redis, one hash per response (see `layout::response`).
//!
//! A response belongs to the platform in its key and to the end user in its
//! `end_user_id` field. Reads by anyone else, like reads of an expired or
//! deleted response, get the same 404. Each record lists the ids of its
//! earlier turns, so a conversation is rebuilt with two round trips whatever
//! its length: one read of the previous response, then one pipelined read of
//! its ancestors.

use redis::aio::ConnectionManager;
use serde_json::Value;

use super::request::invalid;
use crate::error::GatewayError;
use crate::layout;

/// Responses one conversation may chain, the new one included. Each turn's messages are replayed
/// in every later request, so a longer chain would exceed every model's context long before.
pub const MAX_CHAIN_LENGTH: usize = 1000;

/// The contents of one stored response.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: String,
    pub end_user_id: String,
    pub previous_response_id: Option<String>,
    /// The earlier responses of the chain, oldest first.
    pub ancestors: Vec<String>,
    pub model: String,
    pub created_at: u64,
    /// The Response object.
    pub response: Value,
    pub input_items: Vec<Value>,
    /// The chat messages this response adds to its conversation.
    pub messages: Vec<Value>,
}

/// The conversation before a new turn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    /// Ids of every earlier response, oldest first; the new response's `ancestors`.
    pub chain: Vec<String>,
    /// The chat messages of every earlier response, in order.
    pub messages: Vec<Value>,
}

fn store_unavailable(err: redis::RedisError) -> GatewayError {
    GatewayError::new("not_ready", "the state store is unavailable; retry shortly").with_cause(err)
}

fn corrupt(id: &str, field: &str) -> GatewayError {
    GatewayError::new(
        "internal_error",
        format!("the stored response {id} has an unreadable {field} field"),
    )
}

/// Build the 404 for a response that is missing, expired, deleted or someone else's.
pub fn not_found(id: &str) -> GatewayError {
    GatewayError::new("not_found", format!("No response found with id '{id}'."))
}

/// Check whether `id` can name a stored response. Other ids are not looked up at all.
pub fn plausible_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Serialize a list field; lists of strings and JSON values always serialize.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_list(text: &str, id: &str, field: &str) -> Result<Vec<Value>, GatewayError> {
    serde_json::from_str(text).map_err(|_| corrupt(id, field))
}

/// Rebuild the conversation that ends with `previous_id`, for `end_user_id` on `platform_id`.
pub async fn load_conversation(
    conn: &mut ConnectionManager,
    platform_id: &str,
    end_user_id: &str,
    previous_id: &str,
) -> Result<Conversation, GatewayError> {
    let missing = || not_found(previous_id).with_param("previous_response_id");
    if !plausible_id(previous_id) {
        return Err(missing());
    }
    let fields: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(layout::response(platform_id, previous_id))
        .arg(&["end_user_id", "ancestors", "messages"])
        .query_async(conn)
        .await
        .map_err(store_unavailable)?;
    let [Some(owner), Some(ancestors), Some(messages)] = fields.as_slice() else {
        return Err(missing());
    };
    if owner != end_user_id {
        return Err(missing());
    }
    let ancestors: Vec<String> =
        serde_json::from_str(ancestors).map_err(|_| corrupt(previous_id, "ancestors"))?;
    if ancestors.len() + 2 > MAX_CHAIN_LENGTH {
        return Err(invalid(
            "previous_response_id",
            format!(
                "a conversation may chain at most {MAX_CHAIN_LENGTH} responses; start a new one \
                 and carry over what matters in `input`"
            ),
        ));
    }

    let mut pipe = redis::pipe();
    for id in &ancestors {
        pipe.cmd("HMGET")
            .arg(layout::response(platform_id, id))
            .arg(&["end_user_id", "messages"]);
    }
    let earlier: Vec<Vec<Option<String>>> = if ancestors.is_empty() {
        Vec::new()
    } else {
        pipe.query_async(conn).await.map_err(store_unavailable)?
    };
    let mut conversation = Conversation::default();
    for (id, fields) in ancestors.iter().zip(earlier) {
        match fields.as_slice() {
            [Some(owner), Some(text)] if owner == end_user_id => {
                conversation
                    .messages
                    .extend(parse_list(text, id, "messages")?);
            }
            _ => {
                return Err(GatewayError::new(
                    "not_found",
                    format!(
                        "The conversation of response '{previous_id}' includes response '{id}', \
                         which was deleted or has expired."
                    ),
                )
                .with_param("previous_response_id"))
            }
        }
    }
    conversation
        .messages
        .extend(parse_list(messages, previous_id, "messages")?);
    conversation.chain = ancestors;
    conversation.chain.push(previous_id.to_owned());
    Ok(conversation)
}

/// Store `record` for `ttl_seconds`, and renew its ancestors for as long, so that a
/// conversation in use stays whole.
pub async fn save(
    conn: &mut ConnectionManager,
    platform_id: &str,
    record: &Record,
    ttl_seconds: u64,
) -> Result<(), GatewayError> {
    let key = layout::response(platform_id, &record.id);
    let fields = [
        ("end_user_id", record.end_user_id.clone()),
        (
            "previous_response_id",
            record.previous_response_id.clone().unwrap_or_default(),
        ),
        ("ancestors", to_json(&record.ancestors)),
        ("model", record.model.clone()),
        ("created_at", record.created_at.to_string()),
        ("response", record.response.to_string()),
        ("input_items", to_json(&record.input_items)),
        ("messages", to_json(&record.messages)),
    ];
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("HSET").arg(&key).arg(&fields[..]).ignore();
    pipe.cmd("EXPIRE").arg(&key).arg(ttl_seconds).ignore();
    for id in &record.ancestors {
        pipe.cmd("EXPIRE")
            .arg(layout::response(platform_id, id))
            .arg(ttl_seconds)
            .ignore();
    }
    pipe.query_async::<()>(conn)
        .await
        .map_err(store_unavailable)
}

/// Read one field of a response that `end_user_id` owns.
pub async fn read_field(
    conn: &mut ConnectionManager,
    platform_id: &str,
    end_user_id: &str,
    id: &str,
    field: &str,
) -> Result<String, GatewayError> {
    if !plausible_id(id) {
        return Err(not_found(id));
    }
    let fields: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(layout::response(platform_id, id))
        .arg(&["end_user_id", field])
        .query_async(conn)
        .await
        .map_err(store_unavailable)?;
    match fields.as_slice() {
        [Some(owner), Some(value)] if owner == end_user_id => Ok(value.clone()),
        _ => Err(not_found(id)),
    }
}

/// Read the input items of a response that `end_user_id` owns.
pub async fn input_items(
    conn: &mut ConnectionManager,
    platform_id: &str,
    end_user_id: &str,
    id: &str,
) -> Result<Vec<Value>, GatewayError> {
    let text = read_field(conn, platform_id, end_user_id, id, "input_items").await?;
    parse_list(&text, id, "input_items")
}

/// Delete a response that `end_user_id` owns.
pub async fn delete(
    conn: &mut ConnectionManager,
    platform_id: &str,
    end_user_id: &str,
    id: &str,
) -> Result<(), GatewayError> {
    read_field(conn, platform_id, end_user_id, id, "end_user_id").await?;
    redis::cmd("DEL")
        .arg(layout::response(platform_id, id))
        .query_async::<()>(conn)
        .await
        .map_err(store_unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_checked_before_lookup() {
        assert!(plausible_id("resp_01jfq3abc"));
        assert!(!plausible_id(""));
        assert!(!plausible_id("resp_1}:x"));
        assert!(!plausible_id(&"a".repeat(129)));
    }

    #[test]
    fn not_found_is_404_envelope() {
        let err = not_found("resp_x");
        assert_eq!(err.status(), 404);
        assert_eq!(err.message, "No response found with id 'resp_x'.");
        assert_eq!(
            crate::error::code_info(err.code).error_type,
            "not_found_error"
        );
    }
}
