//! Pieces every provider format shares: the call context, SSE framing and ids.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::script::Eol;
use crate::translate::Provider;

/// What a format needs to know about one call besides the request and the reply.
#[derive(Clone, Debug)]
pub struct Call<'a> {
    pub provider: Provider,
    /// A value unique to this call on this server, used as the tail of response ids.
    pub serial: &'a str,
    /// Unix seconds.
    pub created: u64,
    pub eol: Eol,
    /// A hash of the request body; ids minted from it repeat for identical requests.
    pub body_digest: u64,
    /// Events sent before an in-stream error event (0 without one), which Responses numbers.
    pub error_after: u64,
}

impl Call<'_> {
    /// Mint an id such as `call_…` that depends only on the request body and `index`.
    pub fn stable_id(&self, prefix: &str, index: usize) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.body_digest.to_le_bytes());
        hasher.update((index as u64).to_le_bytes());
        let hash = hasher.finalize();
        format!("{prefix}{}", &hex::encode(hash)[..24])
    }

    /// Frame one SSE event with an optional `event:` line and one `data:` line.
    pub fn frame(&self, event: Option<&str>, data: &[u8]) -> Bytes {
        frame(event, data, self.eol)
    }

    /// Frame an SSE event whose data is `value` as JSON.
    pub fn json_frame<T: Serialize>(&self, event: Option<&str>, value: &T) -> Bytes {
        self.frame(event, &to_json(value))
    }
}

/// Frame one SSE event. `data` must not contain line breaks, and compact JSON never does.
pub fn frame(event: Option<&str>, data: &[u8], eol: Eol) -> Bytes {
    let eol = eol.as_bytes();
    let mut out = BytesMut::with_capacity(data.len() + 32);
    if let Some(name) = event {
        out.put_slice(b"event: ");
        out.put_slice(name.as_bytes());
        out.put_slice(eol);
    }
    out.put_slice(b"data: ");
    out.put_slice(data);
    out.put_slice(eol);
    out.put_slice(eol);
    out.freeze()
}

/// Serialize `value` as compact JSON; the simulator's own types always serialize.
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Read a field of a JSON object as an unsigned integer.
pub fn u64_field(object: &serde_json::Value, name: &str) -> Option<u64> {
    object.get(name).and_then(serde_json::Value::as_u64)
}

/// Build a fixed call context for the format tests.
#[cfg(test)]
pub fn test_call(provider: Provider) -> Call<'static> {
    Call {
        provider,
        serial: "sim0001",
        created: 1_700_000_000,
        eol: Eol::Lf,
        body_digest: 42,
        error_after: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_with_event_and_crlf() {
        let framed = frame(Some("ping"), b"{}", Eol::CrLf);
        assert_eq!(&framed[..], b"event: ping\r\ndata: {}\r\n\r\n");
    }

    #[test]
    fn stable_ids_depend_on_body_and_index() {
        let call = |digest| Call {
            provider: Provider::Openai,
            serial: "s",
            created: 0,
            eol: Eol::Lf,
            body_digest: digest,
            error_after: 0,
        };
        assert_eq!(call(1).stable_id("call_", 0), call(1).stable_id("call_", 0));
        assert_ne!(call(1).stable_id("call_", 0), call(1).stable_id("call_", 1));
        assert_ne!(call(1).stable_id("call_", 0), call(2).stable_id("call_", 0));
        assert_eq!(call(1).stable_id("call_", 0).len(), 5 + 24);
    }
}
