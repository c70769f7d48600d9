//! Login and registration throttling, kept in PostgreSQL so that every
//! instance of the service shares it, and shaped so that no one can turn it
//! against the people behind a shared address (a town hall, a hospital, a
//! school network).
//!
//! Clients are counted per *block*: an IPv4 address, or the /64 an IPv6
//! subscriber holds. Attempts are counted per (account, block) *pair* when
//! they start, so parallel guesses cannot slip past a limit while hashes
//! run; a success forgets the pair's count. The rules:
//!
//! - A pair whose account logged in from this block in the last 30 days is
//!   *known*: 5 failures lock it for the rest of a 1-minute window, so its
//!   owner, behind the same address as an attacker, waits at most a minute.
//! - An unknown pair gets 5 failures per 15-minute window.
//! - A block with 30 failures on unknown pairs in 15 minutes is *under
//!   spray*: its unknown pairs get 2 failures per window instead of 5. A
//!   sprayer then gets two guesses per account and 429 before any hash; a
//!   person with one mistake (then the right password) is never refused,
//!   and known pairs are not touched.
//! - Registrations: 20 per block per hour.
//!
//! Keys are SHA-256 hashes of the email and block: no address or email is
//! stored here. Rows older than a day are swept by failing attempts.

use std::net::{IpAddr, Ipv6Addr};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Integer, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// Failures that lock a pair.
pub const PAIR_FAILURES: i32 = 5;
/// Failures that lock an unknown pair while its block is under spray.
pub const SPRAYED_PAIR_FAILURES: i32 = 2;
/// Failures on unknown pairs that put a block under spray.
pub const SPRAY_FAILURES: i32 = 30;
/// Registrations per block per hour.
pub const REGISTRATIONS_PER_HOUR: i32 = 20;
const KNOWN_WINDOW: TimeDelta = TimeDelta::minutes(1);
const WINDOW: TimeDelta = TimeDelta::minutes(15);
const REGISTRATION_WINDOW: TimeDelta = TimeDelta::hours(1);

/// The unit an address is counted in: itself for IPv4, its /64 for IPv6.
fn client_block(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().to_vec()
}

/// What the counters said when an attempt started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub known: bool,
    /// Failures on unknown pairs from the block in its current window.
    pub block_failures: i32,
    /// Attempts of the pair in its window, this one included.
    pub attempts: i32,
    pub window_start: DateTime<Utc>,
}

/// The rules above, without I/O: `Err(seconds to wait)` when the attempt
/// must be refused before the password is checked.
pub fn decide(counts: Counts, now: DateTime<Utc>) -> Result<(), u64> {
    let (limit, window) = match (counts.known, counts.block_failures >= SPRAY_FAILURES) {
        (true, _) => (PAIR_FAILURES, KNOWN_WINDOW),
        (false, false) => (PAIR_FAILURES, WINDOW),
        (false, true) => (SPRAYED_PAIR_FAILURES, WINDOW),
    };
    if counts.attempts <= limit {
        return Ok(());
    }
    let left = (counts.window_start + window - now).num_seconds();
    Err(u64::try_from(left).unwrap_or(0).max(1))
}

/// A login attempt in progress: tell it how it ended.
pub struct Attempt {
    pair: Vec<u8>,
    block: Vec<u8>,
    known: bool,
}

/// Starts a login attempt for `email` from `address`: counted at once, and
/// refused with 429 and `Retry-After` when the rules say so.
pub async fn start(
    conn: &mut AsyncPgConnection,
    email: &str,
    address: IpAddr,
) -> ApiResult<Attempt> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Bool)]
        known: bool,
        #[diesel(sql_type = Integer)]
        block_failures: i32,
        #[diesel(sql_type = Integer)]
        attempts: i32,
        #[diesel(sql_type = Timestamptz)]
        window_start: DateTime<Utc>,
    }
    let block_text = client_block(address).to_string();
    let pair = key(&[b"pair", email.as_bytes(), block_text.as_bytes()]);
    let block = key(&[b"block", block_text.as_bytes()]);
    // One round trip: is the pair known, how many failures the block has,
    // and this attempt counted in the pair's window (restarted if over).
    let row: Row = diesel::sql_query(
        "WITH seen AS ( \
             SELECT EXISTS (SELECT 1 FROM login_known_pairs \
                             WHERE key = $1 AND last_success > now() - interval '30 days') AS yes), \
         known AS ( \
             SELECT yes, CASE WHEN yes THEN interval '1 minute' ELSE interval '15 minutes' END AS span \
               FROM seen), \
         block AS ( \
             SELECT coalesce((SELECT count FROM login_counters \
                               WHERE key = $2 AND window_start > now() - interval '15 minutes'), 0) AS failures), \
         pair AS ( \
             INSERT INTO login_counters AS c (key, window_start, count) VALUES ($1, now(), 1) \
             ON CONFLICT (key) DO UPDATE SET \
                 window_start = CASE WHEN c.window_start > now() - (SELECT span FROM known) \
                                     THEN c.window_start ELSE now() END, \
                 count = CASE WHEN c.window_start > now() - (SELECT span FROM known) \
                              THEN c.count + 1 ELSE 1 END \
             RETURNING count, window_start) \
         SELECT known.yes AS known, block.failures AS block_failures, \
                pair.count AS attempts, pair.window_start \
           FROM known, block, pair",
    )
    .bind::<Bytea, _>(&pair)
    .bind::<Bytea, _>(&block)
    .get_result(conn)
    .await?;
    let counts = Counts {
        known: row.known,
        block_failures: row.block_failures,
        attempts: row.attempts,
        window_start: row.window_start,
    };
    decide(counts, Utc::now()).map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    Ok(Attempt {
        pair,
        block,
        known: row.known,
    })
}

impl Attempt {
    /// The password was right: the pair's count is forgotten and the pair
    /// becomes known.
    pub async fn succeeded(self, conn: &mut AsyncPgConnection) -> ApiResult<()> {
        diesel::sql_query(
            "WITH forgotten AS (DELETE FROM login_counters WHERE key = $1) \
             INSERT INTO login_known_pairs (key, last_success) VALUES ($1, now()) \
             ON CONFLICT (key) DO UPDATE SET last_success = now()",
        )
        .bind::<Bytea, _>(&self.pair)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// The password was wrong: an unknown pair's failure counts for its
    /// block too.
    pub async fn failed(self, conn: &mut AsyncPgConnection) -> ApiResult<()> {
        if self.known {
            return Ok(());
        }
        count_in_window(conn, &self.block, WINDOW).await?;
        Ok(())
    }
}

/// Adds one to `key`'s count in its window (restarted when over), sweeping
/// rows a day old now and then; returns the count.
async fn count_in_window(
    conn: &mut AsyncPgConnection,
    key: &[u8],
    window: TimeDelta,
) -> QueryResult<i32> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Integer)]
        count: i32,
    }
    let seconds = window.num_seconds() as i32;
    let counted: Count = diesel::sql_query(
        "INSERT INTO login_counters AS c (key, window_start, count) VALUES ($1, now(), 1) \
         ON CONFLICT (key) DO UPDATE SET \
             window_start = CASE WHEN c.window_start > now() - make_interval(secs => $2) \
                                 THEN c.window_start ELSE now() END, \
             count = CASE WHEN c.window_start > now() - make_interval(secs => $2) \
                          THEN c.count + 1 ELSE 1 END \
         RETURNING count",
    )
    .bind::<Bytea, _>(key)
    .bind::<Integer, _>(seconds)
    .get_result(conn)
    .await?;
    // About one call in a hundred (3 in 256) clears what no window needs.
    let mut draw = [0u8; 1];
    if getrandom::fill(&mut draw).is_ok() && draw[0] < 3 {
        diesel::sql_query(
            "DELETE FROM login_counters WHERE window_start < now() - interval '1 day'",
        )
        .execute(conn)
        .await?;
    }
    Ok(counted.count)
}

/// Counts a registration from `address`: 429 past the hourly limit.
pub async fn register(conn: &mut AsyncPgConnection, address: IpAddr) -> ApiResult<()> {
    let block_text = client_block(address).to_string();
    let block = key(&[b"register", block_text.as_bytes()]);
    let count = count_in_window(conn, &block, REGISTRATION_WINDOW).await?;
    if count > REGISTRATIONS_PER_HOUR {
        return Err(ApiError::TooManyRequests {
            retry_after: REGISTRATION_WINDOW.num_seconds() as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(known: bool, block_failures: i32, attempts: i32) -> Counts {
        Counts {
            known,
            block_failures,
            attempts,
            window_start: "2026-11-30T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn known_pairs_wait_a_minute_unknown_ones_a_window_and_sprayed_ones_sooner() {
        let now: DateTime<Utc> = "2026-11-30T10:00:20Z".parse().unwrap();
        // Five attempts pass, the sixth waits.
        assert_eq!(decide(counts(true, 500, 5), now), Ok(()));
        assert_eq!(decide(counts(true, 500, 6), now), Err(40));
        assert_eq!(decide(counts(false, 0, 5), now), Ok(()));
        assert_eq!(decide(counts(false, 0, 6), now), Err(880));
        // Under spray: a mistake then the right password still passes.
        assert_eq!(decide(counts(false, 30, 2), now), Ok(()));
        assert_eq!(decide(counts(false, 30, 3), now), Err(880));
        assert_eq!(decide(counts(false, 29, 3), now), Ok(()));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_block(a), client_block(b));
        assert_ne!(client_block(a), client_block(c));
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        assert_eq!(
            client_block(mapped),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }
}
