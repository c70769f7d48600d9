//! Access tokens (short-lived JWTs) and refresh tokens (opaque, random,
//! stored only as SHA-256, used once).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;

pub const ISSUER: &str = "sesame";
pub const AUDIENCE: &str = "sesame-api";
const ACCESS_TYPE: &str = "access";
/// Access tokens live 15 minutes; sessions go on through refresh tokens.
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
pub const REFRESH_TTL_DAYS: i64 = 30;
/// Clock skew tolerated between instances, for `exp`, `nbf` and `iat` alike.
pub const LEEWAY_SECONDS: u64 = 5;
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: Uuid,
    /// The session (refresh-token family) the token belongs to.
    pub sid: Uuid,
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> anyhow::Result<Self> {
        // One algorithm, pinned: `alg: none` and algorithm confusion are refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        // Our tokens carry no `nbf`, but one that does is held to it.
        validation.validate_nbf = true;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
        })
    }

    pub fn issue_access(&self, user_id: Uuid, session_id: Uuid) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user_id,
            sid: session_id,
            typ: ACCESS_TYPE.to_owned(),
            iat: now,
            exp: now + ACCESS_TTL_SECONDS,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(e.into()))
    }

    /// The claims of a valid access token; every failure is the same 401, so
    /// that a forger learns nothing about why.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, ApiError> {
        let invalid = || ApiError::Unauthorized("the access token is invalid or expired".into());
        let claims = decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid())?
            .claims;
        if claims.typ != ACCESS_TYPE || !plausible_lifetime(&claims, chrono::Utc::now().timestamp())
        {
            return Err(invalid());
        }
        Ok(claims)
    }
}

/// A token we issued was issued in the past and lives no longer than
/// [`ACCESS_TTL_SECONDS`]; anything else was forged or minted by a clock gone
/// wrong, and a ten-year `exp` must not outlive a leaked secret's rotation.
fn plausible_lifetime(claims: &AccessClaims, now: i64) -> bool {
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(0);
    claims.iat <= now.saturating_add(leeway)
        && claims.exp.saturating_sub(claims.iat) <= ACCESS_TTL_SECONDS
}

/// A new refresh (or invitation) token and the hash to store.
pub fn new_opaque_token() -> Result<(String, Vec<u8>), ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    let token = to_hex(&bytes);
    let hash = hash_token(&token);
    Ok((token, hash))
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a JWT secret is unfit, if it is: too short, or too repetitive to be random.
pub fn secret_problem(secret: &str) -> Option<String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Some(format!(
            "SESAME_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (for example `openssl rand -hex 32`)"
        ));
    }
    let distinct: std::collections::BTreeSet<u8> = secret.bytes().collect();
    if distinct.len() < 10 {
        return Some("SESAME_JWT_SECRET looks like a placeholder, not a random secret".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test";

    #[test]
    fn issued_tokens_verify_and_tampered_ones_do_not() {
        let keys = TokenKeys::new(SECRET).unwrap();
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let token = keys.issue_access(user, session).unwrap();
        let claims = keys.verify_access(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert_eq!(claims.exp - claims.iat, ACCESS_TTL_SECONDS);

        let mut tampered = token.clone();
        tampered.pop();
        assert!(keys.verify_access(&tampered).is_err());
        let other = TokenKeys::new(b"another secret of thirty-two bytes!!").unwrap();
        assert!(other.verify_access(&token).is_err());
    }

    /// A token signed with the real secret, with claims chosen by a forger.
    fn forge(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap()
    }

    /// Claims like the ones we issue, at `now`, changed by `change`.
    fn claims(now: i64, change: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
        let mut claims = serde_json::json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": Uuid::now_v7(), "sid": Uuid::now_v7(),
            "typ": "access", "iat": now, "exp": now + ACCESS_TTL_SECONDS,
        });
        change(&mut claims);
        claims
    }

    #[test]
    fn forged_time_claims_are_refused() {
        let keys = TokenKeys::new(SECRET).unwrap();
        let now = chrono::Utc::now().timestamp();
        let verdict = |change: fn(&mut serde_json::Value, i64)| {
            keys.verify_access(&forge(claims(now, |c| change(c, now))))
                .is_ok()
        };
        assert!(verdict(|_, _| {}), "the forger's baseline is a valid token");

        // Not yet valid.
        assert!(!verdict(|c, now| c["nbf"] = (now + 60).into()));
        assert!(verdict(|c, now| c["nbf"] = (now - 60).into()));
        assert!(!verdict(|c, _| c["nbf"] = "soon".into()));

        // Issued in the future, beyond the leeway for clock skew.
        assert!(!verdict(|c, now| {
            c["iat"] = (now + 60).into();
            c["exp"] = (now + 60 + ACCESS_TTL_SECONDS).into();
        }));
        assert!(verdict(|c, now| {
            c["iat"] = (now + 3).into();
            c["exp"] = (now + 3 + ACCESS_TTL_SECONDS).into();
        }));
        assert!(!verdict(|c, _| {
            c.as_object_mut().unwrap().remove("iat");
        }));

        // Living longer than an access token may.
        assert!(!verdict(
            |c, now| c["exp"] = (now + 10 * 365 * 86_400).into()
        ));
        assert!(!verdict(
            |c, now| c["exp"] = (now + ACCESS_TTL_SECONDS + 1).into()
        ));
        assert!(!verdict(|c, now| {
            c["iat"] = (now - 3600).into();
            c["exp"] = (now + 60).into();
        }));
    }

    #[test]
    fn weak_secrets_are_named() {
        assert!(secret_problem("short").is_some());
        assert!(secret_problem(&"a".repeat(40)).is_some());
        assert!(
            secret_problem("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
                .is_none()
        );
    }
}
