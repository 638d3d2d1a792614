//! Paging `GET /v1/responses/{id}/input_items`.

use serde_json::{json, Value};

use super::request::invalid;
use crate::error::GatewayError;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// The query of one page: `limit` 1 to 100, `order` `asc` or `desc`, and `after` an item id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageQuery {
    pub limit: usize,
    /// Newest item first, the default.
    pub descending: bool,
    pub after: Option<String>,
}

impl Default for PageQuery {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            descending: true,
            after: None,
        }
    }
}

/// Read the query string; unknown parameters such as `include[]` are ignored.
pub fn parse_query(query: Option<&str>) -> Result<PageQuery, GatewayError> {
    let mut page = PageQuery::default();
    let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes());
    for (key, value) in pairs {
        match key.as_ref() {
            "limit" => {
                page.limit = match value.parse::<usize>() {
                    Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
                    _ => {
                        return Err(invalid(
                            "limit",
                            format!("`limit` must be an integer from 1 to {MAX_LIMIT}"),
                        ))
                    }
                }
            }
            "order" => {
                page.descending = match value.as_ref() {
                    "asc" => false,
                    "desc" => true,
                    _ => return Err(invalid("order", "`order` must be asc or desc")),
                }
            }
            "after" if !value.is_empty() => page.after = Some(value.into_owned()),
            _ => {}
        }
    }
    Ok(page)
}

/// Render one page of `items` (stored oldest first) as a list object.
pub fn page(items: &[Value], query: &PageQuery) -> Result<Value, GatewayError> {
    let ordered: Vec<&Value> = if query.descending {
        items.iter().rev().collect()
    } else {
        items.iter().collect()
    };
    let start = match &query.after {
        None => 0,
        Some(after) => {
            let position = ordered.iter().position(|item| item["id"] == after.as_str());
            let Some(position) = position else {
                return Err(invalid(
                    "after",
                    format!("this response has no input item with id {after:?}"),
                ));
            };
            position + 1
        }
    };
    let rest = &ordered[start..];
    let data: Vec<Value> = rest
        .iter()
        .take(query.limit)
        .map(|&item| item.clone())
        .collect();
    let first_id = data.first().map_or(Value::Null, |item| item["id"].clone());
    let last_id = data.last().map_or(Value::Null, |item| item["id"].clone());
    Ok(json!({
        "object": "list",
        "data": data,
        "first_id": first_id,
        "last_id": last_id,
        "has_more": rest.len() > query.limit,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(count: usize) -> Vec<Value> {
        (1..=count)
            .map(|i| json!({"id": format!("msg_{i}")}))
            .collect()
    }

    fn ids(page: &Value) -> Vec<&str> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn default_is_newest_first() {
        let page = page(&items(3), &PageQuery::default()).unwrap();
        assert_eq!(ids(&page), ["msg_3", "msg_2", "msg_1"]);
        assert_eq!(page["first_id"], "msg_3");
        assert_eq!(page["last_id"], "msg_1");
        assert_eq!(page["has_more"], false);
    }

    #[test]
    fn pages_follow_after() {
        let query = parse_query(Some("limit=2&order=asc")).unwrap();
        let first = page(&items(5), &query).unwrap();
        assert_eq!(ids(&first), ["msg_1", "msg_2"]);
        assert_eq!(first["has_more"], true);
        let query = parse_query(Some("limit=2&order=asc&after=msg_4")).unwrap();
        let last = page(&items(5), &query).unwrap();
        assert_eq!(ids(&last), ["msg_5"]);
        assert_eq!(last["has_more"], false);
    }

    #[test]
    fn empty_page_has_null_ids() {
        let query = parse_query(Some("after=msg_1")).unwrap();
        let page = page(&items(1), &query).unwrap();
        assert_eq!(ids(&page), Vec::<&str>::new());
        assert_eq!(page["first_id"], Value::Null);
        assert_eq!(page["has_more"], false);
    }

    #[test]
    fn bad_queries_name_the_param() {
        for (query, param) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=x", "limit"),
            ("order=up", "order"),
        ] {
            let err = parse_query(Some(query)).unwrap_err();
            assert_eq!(err.param.as_deref(), Some(param), "{query}");
        }
        let err = page(&items(2), &parse_query(Some("after=msg_9")).unwrap()).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("after"));
    }
}
