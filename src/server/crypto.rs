//! All cryptography in one place: envelope encryption with XChaCha20-Poly1305.
//!
//! A key-encryption key (KEK) from the keyring wraps each user's random 256-bit data key; the data
//! key seals that user's values. Every sealed blob is `nonce (24 bytes) ‖ ciphertext+tag`, and its
//! associated data binds it to where it belongs, so a blob copied elsewhere fails to open.

use base64::{engine::general_purpose::STANDARD, Engine};
use chacha20poly1305::{
    aead::{rand_core::RngCore, Aead, KeyInit, OsRng, Payload},
    XChaCha20Poly1305, XNonce,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const KEY_CHECK_PLAINTEXT: &[u8] = b"lockbox key check v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("a key must be exactly {KEY_LEN} bytes, got {0}")]
    KeyLength(usize),
    #[error("the key is not valid base64")]
    KeyEncoding,
    #[error("decryption failed: wrong key, or the data was altered or moved")]
    Open,
}

/// Associated data for a user's wrapped data key.
pub fn data_key_aad(user_id: &str) -> Vec<u8> {
    format!("lockbox/data-key/v1\0{user_id}").into_bytes()
}

/// Associated data for a secret value: binds it to its owner and its row.
pub fn secret_aad(user_id: &str, secret_id: &str) -> Vec<u8> {
    format!("lockbox/secret/v1\0{user_id}\0{secret_id}").into_bytes()
}

/// Associated data for a data key that belongs to no user, wrapped for one purpose
/// (`namespace-secrets`, …): a wrapped key moved to another purpose, or to a user, fails to open.
pub fn purpose_key_aad(purpose: &str) -> Vec<u8> {
    format!("lockbox/purpose-key/v1\0{purpose}").into_bytes()
}

/// Associated data for a namespace secret's sealed values: binds them to their row and their
/// scope (a project's id, or cluster scope), so a blob copied to another row or project fails
/// to open.
pub fn namespace_secret_aad(project_id: Option<&str>, secret_id: &str) -> Vec<u8> {
    let scope = match project_id {
        Some(id) => format!("project:{id}"),
        None => "cluster".to_string(),
    };
    format!("lockbox/namespace-secret/v1\0{scope}\0{secret_id}").into_bytes()
}

fn seal_with(cipher: &XChaCha20Poly1305, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // Encryption fails only for inputs larger than the AEAD's limit (about 256 GiB).
        .expect("XChaCha20-Poly1305 encryption of a bounded input");
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

fn open_with(
    cipher: &XChaCha20Poly1305,
    sealed: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < NONCE_LEN {
        return Err(CryptoError::Open);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Open)
}

fn cipher(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

fn key_from_slice(bytes: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
    let array: [u8; KEY_LEN] = bytes
        .try_into()
        .map_err(|_| CryptoError::KeyLength(bytes.len()))?;
    Ok(Zeroizing::new(array))
}

fn random_key() -> Zeroizing<[u8; KEY_LEN]> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(key.as_mut());
    key
}

/// A key-encryption key with its id. The id is an HMAC of a fixed label under the key, so it
/// identifies the key without revealing it, and serves as the start-up key check.
pub struct Kek {
    id: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl Kek {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let key = key_from_slice(bytes)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref())
            .expect("HMAC accepts any key length");
        mac.update(b"lockbox kek id v1");
        let digest = mac.finalize().into_bytes();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self { id, key })
    }

    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| CryptoError::KeyEncoding)?,
        );
        Self::from_bytes(&bytes)
    }

    pub fn generate() -> Self {
        Self::from_bytes(random_key().as_ref()).expect("a generated key has the right length")
    }

    /// The key in base64, for writing the generated key file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.key.as_ref()))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn wrap(&self, data_key: &DataKey, user_id: &str) -> Vec<u8> {
        seal_with(
            &cipher(&self.key),
            data_key.0.as_ref(),
            &data_key_aad(user_id),
        )
    }

    pub fn unwrap(&self, wrapped: &[u8], user_id: &str) -> Result<DataKey, CryptoError> {
        let bytes = open_with(&cipher(&self.key), wrapped, &data_key_aad(user_id))?;
        Ok(DataKey(key_from_slice(&bytes)?))
    }

    /// Wraps a data key that belongs to no user, bound to its purpose.
    pub fn wrap_purpose_key(&self, data_key: &DataKey, purpose: &str) -> Vec<u8> {
        seal_with(
            &cipher(&self.key),
            data_key.0.as_ref(),
            &purpose_key_aad(purpose),
        )
    }

    pub fn unwrap_purpose_key(
        &self,
        wrapped: &[u8],
        purpose: &str,
    ) -> Result<DataKey, CryptoError> {
        let bytes = open_with(&cipher(&self.key), wrapped, &purpose_key_aad(purpose))?;
        Ok(DataKey(key_from_slice(&bytes)?))
    }

    /// A blob stored beside the key id; opening it proves the key is the one that made it.
    pub fn check_blob(&self) -> Vec<u8> {
        seal_with(&cipher(&self.key), KEY_CHECK_PLAINTEXT, self.id.as_bytes())
    }

    pub fn verify_check_blob(&self, blob: &[u8]) -> bool {
        open_with(&cipher(&self.key), blob, self.id.as_bytes())
            .map(|p| p.as_slice() == KEY_CHECK_PLAINTEXT)
            .unwrap_or(false)
    }

    /// A 64-byte key for another purpose (HKDF-SHA256 with the purpose as its info), so every
    /// replica derives the same one and none of them reveals the KEK.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 64]> {
        let mut okm = Zeroizing::new([0u8; 64]);
        hkdf::Hkdf::<Sha256>::new(None, self.key.as_ref())
            .expand(format!("lockbox/{purpose}/v1").as_bytes(), okm.as_mut())
            .expect("64 bytes is a valid HKDF-SHA256 output length");
        okm
    }
}

/// What a wrapped key is bound to: a user's data key, or a data key kept for a purpose.
#[derive(Clone, Copy, Debug)]
pub enum WrappedFor<'a> {
    User(&'a str),
    Purpose(&'a str),
}

impl WrappedFor<'_> {
    fn aad(&self) -> Vec<u8> {
        match self {
            WrappedFor::User(id) => data_key_aad(id),
            WrappedFor::Purpose(p) => purpose_key_aad(p),
        }
    }
}

/// Moves a wrapped data key from one KEK to another, binding unchanged: the data key itself (and
/// so every value it sealed) stays the same, and it is in memory only inside this call.
pub fn rewrap(
    from: &Kek,
    to: &Kek,
    wrapped: &[u8],
    bound_to: WrappedFor<'_>,
) -> Result<Vec<u8>, CryptoError> {
    let aad = bound_to.aad();
    let key = open_with(&cipher(&from.key), wrapped, &aad)?;
    let key = key_from_slice(&key)?;
    Ok(seal_with(&cipher(&to.key), key.as_ref(), &aad))
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    Sha256::digest(data).into()
}

/// A user's data key, in memory only while in use.
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

// Keys never print: Debug shows the key id at most.
impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl DataKey {
    pub fn generate() -> Self {
        Self(random_key())
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        seal_with(&cipher(&self.0), plaintext, aad)
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_with(&cipher(&self.0), sealed, aad)
    }

    /// HMAC-SHA256 of `message` under a subkey derived for `label` (HKDF), so one random key
    /// serves several MACs that cannot stand in for one another.
    pub fn mac(&self, label: &str, message: &[u8]) -> [u8; 32] {
        self.mac_for(label, message).finalize().into_bytes().into()
    }

    /// Whether `tag` is this key's MAC of `message` for `label` (compared in constant time).
    pub fn mac_matches(&self, label: &str, message: &[u8], tag: &[u8]) -> bool {
        self.mac_for(label, message).verify_slice(tag).is_ok()
    }

    fn mac_for(&self, label: &str, message: &[u8]) -> Hmac<Sha256> {
        let mut subkey = Zeroizing::new([0u8; KEY_LEN]);
        hkdf::Hkdf::<Sha256>::new(None, self.0.as_ref())
            .expand(
                format!("lockbox/mac/{label}/v1").as_bytes(),
                subkey.as_mut(),
            )
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(subkey.as_ref())
            .expect("HMAC takes a key of any length");
        mac.update(message);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &[u8] = b"postgres://app:s3cret@db/prod";

    #[test]
    fn round_trip() {
        let dk = DataKey::generate();
        let aad = secret_aad("u1", "s1");
        let sealed = dk.seal(VALUE, &aad);
        assert_eq!(dk.open(&sealed, &aad).unwrap().as_slice(), VALUE);
        assert!(!sealed.windows(VALUE.len()).any(|w| w == VALUE));
    }

    #[test]
    fn every_flipped_byte_fails() {
        let dk = DataKey::generate();
        let aad = secret_aad("u1", "s1");
        let sealed = dk.seal(VALUE, &aad);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                dk.open(&bad, &aad).unwrap_err(),
                CryptoError::Open,
                "byte {i}"
            );
        }
        assert!(dk.open(&sealed[..10], &aad).is_err());
    }

    #[test]
    fn ciphertext_moved_to_another_row_or_user_fails() {
        let dk = DataKey::generate();
        let sealed = dk.seal(VALUE, &secret_aad("u1", "s1"));
        assert!(dk.open(&sealed, &secret_aad("u1", "s2")).is_err());
        assert!(dk.open(&sealed, &secret_aad("u2", "s1")).is_err());
        // Another user's data key cannot open it either.
        assert!(DataKey::generate()
            .open(&sealed, &secret_aad("u1", "s1"))
            .is_err());
    }

    #[test]
    fn two_encryptions_differ() {
        let dk = DataKey::generate();
        let aad = secret_aad("u1", "s1");
        assert_ne!(dk.seal(VALUE, &aad), dk.seal(VALUE, &aad));
    }

    #[test]
    fn wrapped_data_key_round_trips_and_is_bound_to_its_user() {
        let kek = Kek::generate();
        let dk = DataKey::generate();
        let wrapped = kek.wrap(&dk, "u1");
        let back = kek.unwrap(&wrapped, "u1").unwrap();
        let sealed = dk.seal(VALUE, b"x");
        assert_eq!(back.open(&sealed, b"x").unwrap().as_slice(), VALUE);
        assert!(kek.unwrap(&wrapped, "u2").is_err());
    }

    #[test]
    fn purpose_keys_are_bound_to_their_purpose() {
        let kek = Kek::generate();
        let dk = DataKey::generate();
        let wrapped = kek.wrap_purpose_key(&dk, "namespace-secrets");
        let back = kek
            .unwrap_purpose_key(&wrapped, "namespace-secrets")
            .unwrap();
        let sealed = dk.seal(VALUE, b"x");
        assert_eq!(back.open(&sealed, b"x").unwrap().as_slice(), VALUE);
        assert!(kek.unwrap_purpose_key(&wrapped, "other").is_err());
        // Neither a user's key nor a purpose key passes for the other.
        assert!(kek.unwrap(&wrapped, "namespace-secrets").is_err());
        let users = kek.wrap(&dk, "namespace-secrets");
        assert!(kek.unwrap_purpose_key(&users, "namespace-secrets").is_err());
        assert!(Kek::generate()
            .unwrap_purpose_key(&wrapped, "namespace-secrets")
            .is_err());
    }

    #[test]
    fn namespace_secret_values_are_bound_to_their_row_and_scope() {
        let dk = DataKey::generate();
        let aad = namespace_secret_aad(Some("p1"), "n1");
        let sealed = dk.seal(VALUE, &aad);
        assert_eq!(dk.open(&sealed, &aad).unwrap().as_slice(), VALUE);
        for other in [
            namespace_secret_aad(Some("p1"), "n2"),
            namespace_secret_aad(Some("p2"), "n1"),
            namespace_secret_aad(None, "n1"),
            secret_aad("p1", "n1"),
        ] {
            assert!(dk.open(&sealed, &other).is_err());
        }
        let cluster = dk.seal(VALUE, &namespace_secret_aad(None, "n1"));
        assert!(dk.open(&cluster, &namespace_secret_aad(None, "n1")).is_ok());
        assert!(dk
            .open(&cluster, &namespace_secret_aad(Some("cluster"), "n1"))
            .is_err());
    }

    #[test]
    fn rewrap_moves_a_data_key_to_another_kek_and_keeps_its_binding() {
        let (old, new) = (Kek::generate(), Kek::generate());
        let dk = DataKey::generate();
        let sealed = dk.seal(VALUE, b"x");
        let wrapped = old.wrap(&dk, "u1");
        let moved = rewrap(&old, &new, &wrapped, WrappedFor::User("u1")).unwrap();
        assert!(old.unwrap(&moved, "u1").is_err());
        assert!(new.unwrap(&moved, "u2").is_err());
        let back = new.unwrap(&moved, "u1").unwrap();
        assert_eq!(back.open(&sealed, b"x").unwrap().as_slice(), VALUE);
        // A purpose key keeps its purpose; the wrong KEK or binding is refused.
        let wp = old.wrap_purpose_key(&dk, "namespace-secrets");
        let mp = rewrap(&old, &new, &wp, WrappedFor::Purpose("namespace-secrets")).unwrap();
        assert!(new.unwrap_purpose_key(&mp, "namespace-secrets").is_ok());
        assert!(rewrap(&new, &old, &wrapped, WrappedFor::User("u1")).is_err());
        assert!(rewrap(&old, &new, &wrapped, WrappedFor::Purpose("u1")).is_err());
    }

    #[test]
    fn wrong_kek_fails() {
        let dk = DataKey::generate();
        let wrapped = Kek::generate().wrap(&dk, "u1");
        assert_eq!(
            Kek::generate().unwrap(&wrapped, "u1").unwrap_err(),
            CryptoError::Open
        );
    }

    #[test]
    fn wrong_key_lengths_are_rejected() {
        assert_eq!(
            Kek::from_bytes(&[0u8; 31]).unwrap_err(),
            CryptoError::KeyLength(31)
        );
        assert_eq!(
            Kek::from_bytes(&[0u8; 33]).unwrap_err(),
            CryptoError::KeyLength(33)
        );
        assert_eq!(Kek::from_bytes(&[]).unwrap_err(), CryptoError::KeyLength(0));
        let short = STANDARD.encode([1u8; 16]);
        assert_eq!(
            Kek::from_base64(&short).unwrap_err(),
            CryptoError::KeyLength(16)
        );
        assert_eq!(
            Kek::from_base64("not base64!").unwrap_err(),
            CryptoError::KeyEncoding
        );
    }

    #[test]
    fn derived_keys_depend_on_the_key_and_the_purpose() {
        let a = Kek::from_bytes(&[7u8; 32]).unwrap();
        let same = Kek::from_bytes(&[7u8; 32]).unwrap();
        let other = Kek::from_bytes(&[8u8; 32]).unwrap();
        assert_eq!(*a.derive("flash"), *same.derive("flash"));
        assert_ne!(*a.derive("flash"), *other.derive("flash"));
        assert_ne!(*a.derive("flash"), *a.derive("other"));
    }

    #[test]
    fn key_id_and_check_blob_identify_the_key() {
        let a = Kek::from_bytes(&[7u8; 32]).unwrap();
        let same = Kek::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        let other = Kek::from_bytes(&[8u8; 32]).unwrap();
        assert_eq!(a.id(), same.id());
        assert_ne!(a.id(), other.id());
        assert_eq!(a.id().len(), 16);
        let blob = a.check_blob();
        assert!(same.verify_check_blob(&blob));
        assert!(!other.verify_check_blob(&blob));
        assert_eq!(Kek::from_base64(&a.to_base64()).unwrap().id(), a.id());
    }
}
