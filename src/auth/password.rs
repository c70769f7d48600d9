//! Password hashing (Argon2id with the crate's defaults: m=19 MiB, t=2, p=1,
//! OWASP's minimum) and the password policy.
//!
//! A hash costs tens of milliseconds of CPU: it runs on the blocking pool,
//! behind a semaphore so that a burst of logins cannot starve everything else.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::{ApiError, FieldError};

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Verified when the email is unknown, so that the answer takes as long
    /// as for a wrong password and does not reveal which emails exist.
    dummy_hash: Arc<str>,
}

impl Hasher {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let dummy_hash = hash_now("a password nobody has, to spend the same time")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        self.blocking(move || hash_now(&password))
            .await?
            .map_err(ApiError::Internal)
    }

    /// True when `password` matches `hash`; with no hash (unknown user), the
    /// same work is done against a dummy and the answer is false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, ApiError> {
        let (hash, known) = match hash {
            Some(hash) => (hash.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        let password = password.to_owned();
        let matches = self
            .blocking(move || {
                Argon2::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matches)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| ApiError::Internal(e.into()))
    }
}

/// A strong random password (128 bits, hex) for accounts made on the CLI.
pub fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(super::token::to_hex(&bytes))
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))
}

/// Length 12 to 128 characters, no composition rules, and not guessable
/// according to zxcvbn (score 3 or more), with its advice when it is.
/// `context` holds words the password must not lean on (email, name).
pub fn check_strength(field: &str, password: &str, context: &[&str]) -> Result<(), ApiError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(ApiError::validation(
            field,
            format!(
                "must be at least {MIN_LENGTH} characters; a few unrelated words make a strong, memorable one"
            ),
        ));
    }
    if length > MAX_LENGTH {
        return Err(ApiError::validation(
            field,
            format!("must be at most {MAX_LENGTH} characters"),
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, context);
    if u8::from(estimate.score()) >= 3 {
        return Ok(());
    }
    let mut advice = vec!["is too easy to guess".to_owned()];
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            advice.push(warning.to_string());
        }
        advice.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    Err(ApiError::Validation(vec![FieldError::new(
        field,
        advice.join(". "),
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_short_and_long_passwords_are_refused_with_a_reason() {
        for weak in [
            "short",
            "password1234",
            "azertyuiop123",
            "jean.dupont@ferme.fr",
        ] {
            let error = check_strength("password", weak, &["jean.dupont@ferme.fr"]).unwrap_err();
            assert!(matches!(error, ApiError::Validation(_)), "{weak}");
            assert!(!error.to_string().is_empty());
        }
        assert!(check_strength("password", &"x".repeat(129), &[]).is_err());
        check_strength("password", "correct horse battery staple", &[]).unwrap();
        check_strength("password", "Les carottes de l'Envol poussent", &[]).unwrap();
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_default_parameters_and_verify() {
        let hasher = Hasher::new(2).unwrap();
        let hash = hasher
            .hash("Les carottes de l'Envol poussent")
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("Les carottes de l'Envol poussent", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("Les carottes de l'Envol poussen", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything", None).await.unwrap());
    }
}
