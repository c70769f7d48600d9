//! Login throttling that an attacker cannot turn against a user.
//!
//! Failures are counted per (account, client address) and per client
//! address, in fixed windows. Past a limit, that pair or that address gets
//! 429 with `Retry-After` before any password is checked. The same account
//! from another address is untouched, so guessing a user's password from one
//! place never locks the user out.
//!
//! Counters live in this process: with several instances, each throttles on
//! its own (the limits then apply per instance).

use std::collections::HashMap;
use std::net::IpAddr;
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
    AccountAndAddress(String, IpAddr),
    Address(IpAddr),
}

struct Window {
    started: Instant,
    failures: u32,
}

/// Entries beyond which expired windows are swept.
const SWEEP_AT: usize = 10_000;

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

    /// 429 when this account from this address, or this address, has failed
    /// too often in the current window.
    pub fn check(&self, email: &str, address: IpAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let limits = [
            (
                Key::AccountAndAddress(email.to_owned(), address),
                self.limits.per_account_and_address,
            ),
            (Key::Address(address), self.limits.per_address),
        ];
        let retry_after = limits
            .iter()
            .filter_map(|(key, limit)| {
                let window = windows.get(key)?;
                let elapsed = now.duration_since(window.started);
                (elapsed < self.limits.window && window.failures >= *limit)
                    .then(|| self.limits.window - elapsed)
            })
            .max();
        match retry_after {
            Some(wait) => Err(ApiError::TooManyRequests {
                retry_after: wait.as_secs().max(1),
            }),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, email: &str, address: IpAddr) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= SWEEP_AT {
            let window = self.limits.window;
            windows.retain(|_, w| now.duration_since(w.started) < window);
        }
        for key in [
            Key::AccountAndAddress(email.to_owned(), address),
            Key::Address(address),
        ] {
            let entry = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(entry.started) >= self.limits.window {
                *entry = Window {
                    started: now,
                    failures: 0,
                };
            }
            entry.failures += 1;
        }
    }

    /// A successful login clears that account's failures from that address.
    pub fn record_success(&self, email: &str, address: IpAddr) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.remove(&Key::AccountAndAddress(email.to_owned(), address));
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
            throttle.check("victim@ferme.fr", attacker).unwrap();
            throttle.record_failure("victim@ferme.fr", attacker);
        }
        let Err(ApiError::TooManyRequests { retry_after }) =
            throttle.check("victim@ferme.fr", attacker)
        else {
            panic!("the sixth attempt from the same address must be throttled");
        };
        assert!((1..=900).contains(&retry_after));
        throttle.check("victim@ferme.fr", user).unwrap();

        // Spraying many accounts from one address hits the address limit.
        for i in 0..15 {
            throttle.record_failure(&format!("user{i}@ferme.fr"), attacker);
        }
        assert!(throttle.check("someone.else@ferme.fr", attacker).is_err());
        throttle.check("someone.else@ferme.fr", user).unwrap();
    }
}
