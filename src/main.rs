//! The `sesame` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sesame::config::{LogFormat, Settings};
use sesame::server::{self, Database};
use sesame::telemetry;

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    about = "Sésame: farm-to-canteen marketplace for local authorities"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve the API.
    Serve(Settings),
    /// Like `serve`, with demonstration data loaded first.
    Demo(Settings),
    /// Apply pending migrations and load the reference data, then exit.
    Migrate(Settings),
    /// Print the OpenAPI document (the committed openapi/openapi.json).
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Openapi => print_openapi(),
        Command::Serve(settings) | Command::Demo(settings) => run(settings, true),
        Command::Migrate(settings) => run(settings, false),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sesame: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_openapi() -> anyhow::Result<()> {
    println!("{}", sesame::openapi_document().to_pretty_json()?);
    Ok(())
}

/// Opens the database (starting the private cluster if needed), prepares it,
/// optionally serves, and always stops what it started.
fn run(settings: Settings, serve: bool) -> anyhow::Result<()> {
    telemetry::init_logging(&settings.log, settings.log_format);
    if settings.log_format == LogFormat::Pretty {
        tracing::info!("Sésame {}", env!("CARGO_PKG_VERSION"));
    }
    let database = Database::open(&settings)?;
    let outcome = actix_web::rt::System::new().block_on(async {
        server::prepare(&database.url).await?;
        if serve {
            server::serve(&settings, &database.url).await?;
        }
        anyhow::Ok(())
    });
    let closed = database.close();
    outcome.and(closed)
}
