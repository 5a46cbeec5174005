//! Mints the HS256 tokens the benchmark's users connect with (Chorus checks them; the
//! reference servers ignore them).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// An HS256 JWT `{"sub", "exp"[, "name"]}` signed with `secret`.
pub fn mint(secret: &[u8], sub: &str, name: Option<&str>, exp: u64) -> anyhow::Result<String> {
    let header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let mut claims = serde_json::json!({"sub": sub, "exp": exp});
    if let (Some(name), Some(obj)) = (name, claims.as_object_mut()) {
        obj.insert("name".into(), name.into());
    }
    let payload = b64url(&serde_json::to_vec(&claims)?);
    let signing_input = format!("{header}.{payload}");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).map_err(|e| anyhow::anyhow!("bad HMAC key: {e}"))?;
    mac.update(signing_input.as_bytes());
    let sig = b64url(&mac.finalize().into_bytes());
    Ok(format!("{signing_input}.{sig}"))
}

/// Base64url without padding (RFC 7515 §2).
fn b64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn matches_a_token_signed_elsewhere() {
        // Signed with Python's hmac/hashlib for the same header and claims (keys sorted).
        let token = super::mint(b"secret", "u1", None, 2_000_000_000).unwrap();
        assert_eq!(
            token,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjIwMDAwMDAwMDAsInN1YiI6InUxIn0.i78ubYiP_1oAfjwA2dV1uw-MU_og_jdoO88_gNjgudA"
        );
    }
}
