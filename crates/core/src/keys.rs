//! API keys: the well-known development keys, generation, the stored (hashed) form and the
//! `uuid:key` shape. Pure functions; the store and the HTTP check live elsewhere.

use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

/// OpenWhisk's public development key of `guest` (spec §1.8).
pub const GUEST_KEY: &str =
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";
/// OpenWhisk's public development key of `whisk.system`.
pub const SYSTEM_KEY: &str =
    "789c46b1-71f6-4ed5-8c54-816aa4f8c502:abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// Hex SHA-256 of a key, the form in which keys are stored.
pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh `uuid:key` pair from the OS CSPRNG (key: 64 alphanumerics).
pub fn generate_key() -> (String, String) {
    let uuid = uuid::Uuid::new_v4().to_string();
    let key: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(64)
        .map(char::from)
        .collect();
    (uuid, key)
}

/// Split `uuid:key`, checking the shapes OpenWhisk requires.
pub fn split_auth(auth: &str) -> Option<(&str, &str)> {
    let (uuid, key) = auth.split_once(':')?;
    let uuid_ok = uuid::Uuid::parse_str(uuid).is_ok();
    let key_ok = key.len() == 64 && key.bytes().all(|b| b.is_ascii_alphanumeric());
    (uuid_ok && key_ok).then_some((uuid, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let (u, k) = generate_key();
        let auth = format!("{u}:{k}");
        assert!(split_auth(&auth).is_some());
        assert!(split_auth(GUEST_KEY).is_some());
        assert!(split_auth(SYSTEM_KEY).is_some());
        assert!(split_auth("nouuid:abc").is_none());
        assert_eq!(hash_key("a").len(), 64);
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
