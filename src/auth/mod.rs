//! Who is calling: passwords, tokens, sessions, login throttling, and the
//! one authorisation policy every handler asks.

pub mod extract;
mod handlers;
pub mod password;
pub mod policy;
pub mod queries;
pub mod throttle;
pub mod token;

use std::net::IpAddr;

use actix_web::HttpRequest;

use self::password::Hasher;
use self::token::TokenKeys;

/// Everything authentication needs, shared by all workers.
#[derive(Clone)]
pub struct Auth {
    pub keys: TokenKeys,
    pub hasher: Hasher,
    /// Take the client address from the last `X-Forwarded-For` hop (the one
    /// our reverse proxy appended) instead of the TCP peer.
    pub trust_forwarded: bool,
}

impl Auth {
    pub fn new(jwt_secret: &[u8], trust_forwarded: bool) -> anyhow::Result<Self> {
        Ok(Self {
            keys: TokenKeys::new(jwt_secret)?,
            hasher: Hasher::new(Hasher::threads_for_this_machine())?,
            trust_forwarded,
        })
    }

    /// The client's address, for throttling.
    pub fn client_address(&self, req: &HttpRequest) -> IpAddr {
        let forwarded = self
            .trust_forwarded
            .then(|| {
                req.headers()
                    .get("x-forwarded-for")?
                    .to_str()
                    .ok()?
                    .rsplit(',')
                    .next()?
                    .trim()
                    .parse()
                    .ok()
            })
            .flatten();
        forwarded
            .or_else(|| req.peer_addr().map(|a| a.ip()))
            .unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::register)
        .service(handlers::login)
        .service(handlers::refresh)
        .service(handlers::logout)
        .service(handlers::change_password)
        .service(handlers::me);
}
