//! Console passwords: hashed with argon2 (the PHC string is what the store keeps), verified in
//! constant time by the argon2 crate, and the root user's first password taken from
//! `FERRY_ROOT_PASSWORD`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use ferry_store::Store;

/// The PHC string of `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` is the one `phc` was made from.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Sets root's console password from `password` unless root has one already (so a restart
/// with the variable still set never undoes `ferry admin set-password`).
pub async fn set_initial_root_password(store: &Store, password: &str) -> Result<(), String> {
    if store
        .console_password("root")
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(());
    }
    let phc = hash_password(password)?;
    let now = jiff::Timestamp::now().as_millisecond();
    store
        .set_console_password("root", &phc, now)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2"));
        assert!(verify("correct horse", &phc));
        assert!(!verify("correct horse ", &phc));
        assert!(!verify("correct horse", "not a phc string"));
        assert_ne!(phc, hash_password("correct horse").unwrap(), "salted");
    }
}
