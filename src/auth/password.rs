//! Password hashing (Argon2id with the crate's defaults: m=19 MiB, t=2, p=1,
//! OWASP's minimum) and the password policy.
//!
//! A hash costs tens of milliseconds of CPU: it runs on a pool of its own,
//! fewer threads than cores and at a lower priority (nice 10), so that a
//! flood of logins queues behind itself and never takes the CPU that reads
//! need. Logins wait their turn in the pool's queue.

use std::sync::{Arc, Mutex, mpsc};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::oneshot;

use crate::error::{ApiError, FieldError};

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

/// The niceness of the hashing threads: below every other thread of the
/// service, which all run at 0.
const HASHING_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
    /// Verified when the email is unknown, so that the answer takes as long
    /// as for a wrong password and does not reveal which emails exist.
    dummy_hash: Arc<str>,
}

impl Hasher {
    /// A pool of `threads` hashing threads (at least one).
    pub fn new(threads: usize) -> anyhow::Result<Self> {
        let dummy_hash = hash_now("a password nobody has, to spend the same time")?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("sesame-hash-{n}"))
                .spawn(move || {
                    lower_priority();
                    // Ends when every Hasher (every sender) is dropped.
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Self {
            jobs,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// One hashing thread per core but one: the last core stays for reads.
    pub fn threads_for_this_machine() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
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
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The request may have gone away meanwhile: nobody to tell.
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("the hashing pool has stopped")))?;
        result
            .await
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a hashing thread failed")))
    }
}

/// Lowers the calling thread's priority to [`HASHING_NICE`]. On Linux a
/// thread has its own niceness, which `setpriority` on id 0 sets; elsewhere
/// the pool's size alone keeps a core free.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes no pointer; it changes the calling thread's
    // niceness, and raising niceness needs no privilege.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICE);
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

    /// Hashes run on the pool's own threads, below every other thread's
    /// priority, and the pool leaves a core to the rest of the service.
    #[tokio::test]
    async fn hashing_runs_on_its_own_low_priority_threads_leaving_a_core() {
        let hasher = Hasher::new(1).unwrap();
        let (name, nice) = hasher
            .blocking(|| {
                let name = std::thread::current().name().map(str::to_owned);
                // SAFETY: getpriority takes no pointer.
                let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
                (name, nice)
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("sesame-hash-0"));
        if cfg!(target_os = "linux") {
            assert!(nice >= HASHING_NICE, "nice {nice}");
        }
        let cores = std::thread::available_parallelism().unwrap().get();
        let threads = Hasher::threads_for_this_machine();
        assert!(threads >= 1 && (cores == 1 || threads < cores));
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
