//! Generated identifiers: account ids, access keys, secrets, passwords.

use rand::Rng;
use rand::distributions::Alphanumeric;

/// A 12-digit account id that does not start with 0.
pub fn account_id() -> String {
    let mut rng = rand::thread_rng();
    let first = rng.gen_range(1..=9u8);
    let mut s = first.to_string();
    for _ in 0..11 {
        s.push(char::from(b'0' + rng.gen_range(0..=9u8)));
    }
    s
}

/// An access key id in AWS's shape: `AKIA` and 16 upper-case letters or digits.
pub fn access_key_id() -> String {
    const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::thread_rng();
    let tail: String = (0..16)
        .map(|_| SET[rng.gen_range(0..SET.len())] as char)
        .collect();
    format!("AKIA{tail}")
}

/// A 40-character secret access key.
pub fn secret_access_key() -> String {
    const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| SET[rng.gen_range(0..SET.len())] as char)
        .collect()
}

/// A random alphanumeric string (passwords, tokens).
pub fn random_alnum(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        let a = super::account_id();
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_digit()) && !a.starts_with('0'));
        let k = super::access_key_id();
        assert!(k.starts_with("AKIA") && k.len() == 20);
        assert_eq!(super::secret_access_key().len(), 40);
        assert_eq!(super::random_alnum(32).len(), 32);
    }
}
