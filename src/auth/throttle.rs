//! Login throttling that an attacker cannot turn against a user.
//!
//! Attempts are counted per (account, client address) and per client
//! address, in fixed windows; a successful login gives its attempt back.
//! Past a limit, that pair or that address gets 429 with `Retry-After`
//! before any password is checked. An attempt is counted when it starts, so
//! a burst of parallel guesses cannot slip past the limit while the hashes
//! run. The same account from another address is untouched, so guessing a
//! user's password from one place never locks the user out. IPv6 clients are
//! counted per /64, the block one subscriber usually holds; accounts are
//! keyed by a hash of the email, so a huge email costs no memory.
//!
//! Counters live in this process: with several instances, each throttles on
//! its own (the limits then apply per instance).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures allowed per (account, address) in a window.
    pub per_account_and_address: u32,
    /// Failures allowed per address, all accounts together, in a window.
    pub per_address: u32,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account_and_address: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Hash, PartialEq, Eq, Clone)]
enum Key {
    AccountAndAddress([u8; 32], IpAddr),
    Address(IpAddr),
}

/// The unit an address is counted in: itself for IPv4, its /64 for IPv6.
fn client_block(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

fn keys(email: &str, address: IpAddr) -> [Key; 2] {
    use sha2::{Digest, Sha256};
    let block = client_block(address);
    let account: [u8; 32] = Sha256::digest(email.as_bytes()).into();
    [Key::AccountAndAddress(account, block), Key::Address(block)]
}

struct Window {
    started: Instant,
    failures: u32,
}

/// Entries beyond which expired windows are swept.
const SWEEP_AT: usize = 10_000;
/// Entries beyond which, even after a sweep, every counter is dropped: the
/// memory of this process matters more than one window of counts.
const MAX_ENTRIES: usize = 200_000;

pub struct LoginThrottle {
    limits: Limits,
    windows: Mutex<HashMap<Key, Window>>,
}

impl LoginThrottle {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a login attempt: 429 when this account from this address, or
    /// this address, has used its attempts in the current window; otherwise
    /// the attempt is counted. Call [`LoginThrottle::succeeded`] when the
    /// password was right.
    pub fn attempt(&self, email: &str, address: IpAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        let window = self.limits.window;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let [pair, block] = keys(email, address);
        let limits = [
            (&pair, self.limits.per_account_and_address),
            (&block, self.limits.per_address),
        ];
        let retry_after = limits
            .iter()
            .filter_map(|(key, limit)| {
                let w = windows.get(*key)?;
                let elapsed = now.duration_since(w.started);
                (elapsed < window && w.failures >= *limit).then(|| window - elapsed)
            })
            .max();
        if let Some(wait) = retry_after {
            return Err(ApiError::TooManyRequests {
                retry_after: wait.as_secs().max(1),
            });
        }
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| now.duration_since(w.started) < window);
            if windows.len() >= MAX_ENTRIES {
                tracing::warn!(
                    entries = windows.len(),
                    "login throttle full: counters reset"
                );
                windows.clear();
            }
        }
        for key in [pair, block] {
            let entry = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(entry.started) >= window {
                *entry = Window {
                    started: now,
                    failures: 0,
                };
            }
            entry.failures += 1;
        }
        Ok(())
    }

    /// The password was right: this account's attempts from this address are
    /// forgotten, and the address gets its attempt back.
    pub fn succeeded(&self, email: &str, address: IpAddr) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let [pair, block] = keys(email, address);
        windows.remove(&pair);
        if let Some(w) = windows.get_mut(&block) {
            w.failures = w.failures.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attacker_is_throttled_and_the_user_elsewhere_is_not() {
        let throttle = LoginThrottle::new(Limits::default());
        let attacker: IpAddr = "203.0.113.7".parse().unwrap();
        let user: IpAddr = "198.51.100.2".parse().unwrap();
        for _ in 0..5 {
            throttle.attempt("victim@ferme.fr", attacker).unwrap();
        }
        let Err(ApiError::TooManyRequests { retry_after }) =
            throttle.attempt("victim@ferme.fr", attacker)
        else {
            panic!("the sixth attempt from the same address must be throttled");
        };
        assert!((1..=900).contains(&retry_after));
        throttle.attempt("victim@ferme.fr", user).unwrap();
        throttle.succeeded("victim@ferme.fr", user);

        // Spraying many accounts from one address hits the address limit.
        for i in 0..15 {
            throttle
                .attempt(&format!("user{i}@ferme.fr"), attacker)
                .unwrap();
        }
        assert!(throttle.attempt("someone.else@ferme.fr", attacker).is_err());
        throttle.attempt("someone.else@ferme.fr", user).unwrap();
    }

    #[test]
    fn successes_do_not_use_up_attempts_and_ipv6_counts_per_64() {
        let throttle = LoginThrottle::new(Limits::default());
        let office: IpAddr = "198.51.100.9".parse().unwrap();
        for _ in 0..50 {
            throttle.attempt("marie@ferme.fr", office).unwrap();
            throttle.succeeded("marie@ferme.fr", office);
        }
        for i in 0..5u16 {
            let address = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, i, i, i, i));
            throttle.attempt("victim@ferme.fr", address).unwrap();
        }
        let same_block = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9));
        assert!(throttle.attempt("victim@ferme.fr", same_block).is_err());
        let other_block = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        throttle.attempt("victim@ferme.fr", other_block).unwrap();
    }
}
