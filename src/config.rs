//! Settings read from the environment (or the matching command-line flags),
//! validated once at start so that a typo fails loudly instead of at 3 a.m.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Everything the service reads from its environment. Each field is also a flag
/// of `serve` and `demo`; the README's configuration table lists them.
#[derive(Args, Clone)]
pub struct Settings {
    /// PostgreSQL URL. When unset, Sésame runs its own private PostgreSQL
    /// cluster under the data directory, from the system's PostgreSQL binaries.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Address and port the HTTP server listens on.
    #[arg(long, env = "SESAME_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Where the private PostgreSQL cluster lives when DATABASE_URL is unset.
    #[arg(long, env = "SESAME_DATA_DIR", default_value = ".sesame")]
    pub data_dir: PathBuf,

    /// Log filter, in tracing's EnvFilter syntax (e.g. `info,sesame=debug`).
    #[arg(long, env = "SESAME_LOG", default_value = "info", value_parser = parse_log_filter)]
    pub log: String,

    /// Log format: `pretty` for people, `json` for log collectors.
    #[arg(long, env = "SESAME_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Maximum number of database connections held by the service.
    #[arg(long, env = "SESAME_DB_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub db_pool_size: u16,

    /// How long a request waits for a database connection before answering 503,
    /// in milliseconds.
    #[arg(long, env = "SESAME_DB_TIMEOUT_MS", default_value_t = 3000,
          value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub db_timeout_ms: u64,

    /// Open data downloads running at once (each holds a database connection
    /// between pages); more get 503. Builds have their own two slots.
    #[arg(long, env = "SESAME_MAX_EXPORTS", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_exports: u16,

    /// How often the standing-orders job looks for due days, in seconds.
    #[arg(long, env = "SESAME_JOBS_PERIOD_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u16).range(1..=3600))]
    pub jobs_period_seconds: u16,

    /// Web origins allowed to call the API from a browser (CORS), comma
    /// separated, e.g. `https://app.example.org`; none by default.
    #[arg(long, env = "SESAME_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origins: Vec<String>,

    /// Largest accepted request body, in bytes; larger bodies get 413.
    #[arg(long, env = "SESAME_BODY_LIMIT", default_value_t = 1_048_576,
          value_parser = clap::value_parser!(u64).range(1024..=104_857_600))]
    pub body_limit: u64,

    /// Secret that signs access tokens: at least 32 random bytes. Required by
    /// `serve`; `demo` makes one and keeps it in the data directory.
    #[arg(long, env = "SESAME_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Behind a reverse proxy: take the client address (for login
    /// throttling) from the last X-Forwarded-For hop.
    #[arg(long, env = "SESAME_TRUST_FORWARDED", default_value_t = false)]
    pub trust_forwarded: bool,

    /// Serve `/metrics` on this address and port only, not on SESAME_BIND
    /// (for a scraper on a private network); unset: `/metrics` is on SESAME_BIND.
    #[arg(long, env = "SESAME_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Token that `/metrics` requires as `Authorization: Bearer <token>`: at
    /// least 32 visible ASCII characters (`openssl rand -hex 32`); unset: none.
    #[arg(long, env = "SESAME_METRICS_TOKEN", hide_env_values = true,
          value_parser = parse_metrics_token)]
    pub metrics_token: Option<String>,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "SESAME_WORKERS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// `scheme://host[:port]`, nothing else (no path, no wildcard).
fn parse_origin(value: &str) -> Result<String, String> {
    let value = value.trim();
    let (scheme, rest) = value
        .split_once("://")
        .ok_or_else(|| format!("{value:?} is not an origin; example: https://app.example.org"))?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if !matches!(scheme, "http" | "https") || rest.is_empty() || !rest.chars().all(plain) {
        return Err(format!(
            "{value:?} is not an origin; example: https://app.example.org"
        ));
    }
    Ok(value.to_owned())
}

/// Sent in a header by a scraper: long enough not to be guessed, and
/// nothing a header cannot carry.
fn parse_metrics_token(value: &str) -> Result<String, String> {
    if value.len() < 32 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "must be at least 32 visible ASCII characters, without spaces \
                    (for example `openssl rand -hex 32`)"
                .into(),
        );
    }
    Ok(value.to_owned())
}

fn parse_log_filter(value: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(value)
        .map(|_| value.to_owned())
        .map_err(|e| format!("not a valid log filter ({e}); example: `info,sesame=debug`"))
}

impl Settings {
    pub fn body_limit_bytes(&self) -> usize {
        usize::try_from(self.body_limit).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Settings;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        settings: Settings,
    }

    fn parse(args: &[&str]) -> Result<Settings, String> {
        Command::try_parse_from(std::iter::once("sesame").chain(args.iter().copied()))
            .map(|c| c.settings)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_metrics_settings_are_checked_at_start() {
        let token = "9f86d081884c7d659a2feaa0c55ad015";
        let settings = parse(&["--metrics-token", token]).unwrap();
        assert_eq!(settings.metrics_token.as_deref(), Some(token));
        for weak in ["short", "9f86d081884c7d659a2feaa0 c55ad015a3"] {
            let error = parse(&["--metrics-token", weak]).err().expect("refused");
            assert!(error.contains("at least 32 visible ASCII"), "{error}");
        }
        assert!(parse(&["--metrics-bind", "localhost"]).is_err());

        let same = parse(&[
            "--bind",
            "127.0.0.1:9464",
            "--metrics-bind",
            "127.0.0.1:9464",
        ])
        .unwrap();
        let error = crate::server::listen_metrics(&same)
            .unwrap_err()
            .to_string();
        assert!(error.contains("SESAME_METRICS_BIND"), "{error}");
        let unset = parse(&[]).unwrap();
        assert!(crate::server::listen_metrics(&unset).unwrap().is_none());
    }
}
