//! The `sesame` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sesame::config::{LogFormat, Settings};
use sesame::server::{self, Database, SecretSource, Sharing};
use sesame::telemetry;

/// mimalloc rather than the system allocator: a request allocates many
/// small strings and vectors (rows, JSON), which it serves with less work
/// per call and less contention between threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Write N delivered order lines over the past year on the demonstration's
    /// territory, for benchmarks (deterministic for a seed and a day).
    Seed {
        /// How many order lines.
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        #[arg(long, default_value_t = sesame::demo::DEMO_SEED)]
        seed: u64,
        #[command(flatten)]
        settings: Settings,
    },
    /// Write the open data package of an EPCI over whole months into a folder,
    /// as publishing it now would, without publishing anything.
    Export {
        /// SIREN of the EPCI.
        #[arg(long, default_value = "200057859")]
        epci: String,
        /// First month, YYYY-MM.
        #[arg(long)]
        from: String,
        /// Last month, YYYY-MM.
        #[arg(long)]
        to: String,
        /// Folder to write datapackage.json and the resources into.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Write the package even when a published release covers some of
        /// these months: such a package must stay internal, since its cells,
        /// subtracted from the release's, would undo that release's secrecy.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Run the standing-orders job once (place the due days, report the
    /// missed ones), print what it did, and exit: what every instance does
    /// every SESAME_JOBS_PERIOD_SECONDS.
    RunJobs(Settings),
    /// Print the OpenAPI document (the committed openapi/openapi.json).
    Openapi,
    /// Administration tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user (the first platform administrator, typically). Without
    /// --password-stdin, a strong password is generated and printed once.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        display_name: String,
        /// Make the user a platform administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        settings: Settings,
    },
}

/// glibc gives each thread that allocates its own arena, and memory freed
/// after an open data build stays spread over them: the resident size
/// creeps up build after build. Two arenas serve this service's work.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it runs before any
    // other thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Openapi => print_openapi(),
        Command::Serve(settings) => run(settings, Mode::Serve),
        Command::Demo(settings) => run(settings, Mode::Demo),
        Command::Migrate(settings) => run(settings, Mode::Migrate),
        Command::RunJobs(settings) => run(settings, Mode::RunJobs),
        Command::Seed {
            lines,
            seed,
            settings,
        } => run(settings, Mode::Seed { lines, seed }),
        Command::Export {
            epci,
            from,
            to,
            out,
            force,
            settings,
        } => run(
            settings,
            Mode::Export {
                epci,
                from,
                to,
                out,
                force,
            },
        ),
        Command::Admin(AdminCommand::CreateUser {
            email,
            display_name,
            admin,
            password_stdin,
            settings,
        }) => create_user(settings, &email, &display_name, admin, password_stdin),
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

#[derive(Clone, PartialEq, Eq)]
enum Mode {
    Serve,
    Demo,
    Migrate,
    RunJobs,
    Seed {
        lines: u64,
        seed: u64,
    },
    Export {
        epci: String,
        from: String,
        to: String,
        out: std::path::PathBuf,
        force: bool,
    },
}

impl Mode {
    /// The subcommand, as the owner of a data directory names itself.
    fn name(&self) -> &'static str {
        match self {
            Mode::Serve => "serve",
            Mode::Demo => "demo",
            Mode::Migrate => "migrate",
            Mode::RunJobs => "run-jobs",
            Mode::Seed { .. } => "seed",
            Mode::Export { .. } => "export",
        }
    }
}

/// Opens the database (starting the private cluster if needed), prepares it,
/// does what `mode` asks, and always stops what it started.
fn run(settings: Settings, mode: Mode) -> anyhow::Result<()> {
    let _log = telemetry::init_logging(&settings.log, settings.log_format);
    if settings.log_format == LogFormat::Pretty {
        tracing::info!("Sésame {}", env!("CARGO_PKG_VERSION"));
    }
    // Taken first, before the demo's secret is written, the cluster starts and
    // the demo seeds: a port in use is reported at once, leaving nothing behind,
    // and the banner below is only printed once the port is ours.
    let (listener, metrics_listener) = match mode {
        Mode::Serve | Mode::Demo => (
            Some(server::listen(&settings)?),
            server::listen_metrics(&settings)?,
        ),
        _ => (None, None),
    };
    // Checked before anything starts: a bad secret should not cost a cluster start.
    let secret = match mode {
        Mode::Serve => Some(server::jwt_secret(&settings, SecretSource::Environment)?),
        Mode::Demo => Some(server::jwt_secret(
            &settings,
            SecretSource::EnvironmentOrDataDir,
        )?),
        Mode::Migrate | Mode::RunJobs | Mode::Seed { .. } | Mode::Export { .. } => None,
    };
    let sharing = match mode {
        Mode::Serve | Mode::Demo => Sharing::OwnOnly,
        _ => Sharing::MayAttach,
    };
    let database = Database::open(&settings, mode.name(), sharing)?;
    let outcome = actix_web::rt::System::new().block_on(async {
        server::prepare(&database.url).await?;
        if mode == Mode::Demo {
            let accounts = sesame::demo::ensure(&database.url).await?;
            if let Some(listener) = &listener {
                print_welcome(listener.local_addr()?, &accounts);
            }
        }
        if mode == Mode::RunJobs {
            let started = std::time::Instant::now();
            let mut conn = sesame::db::connect(&database.url).await?;
            let run = sesame::standing::service::run_due(&mut conn)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "standing orders: {} days due, {} placed, {} failed, {} missed, in {:.3} s",
                run.due,
                run.placed,
                run.failed,
                run.missed,
                started.elapsed().as_secs_f64()
            );
            let overdue = sesame::invoices::service::mark_overdue(&mut conn)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("invoices: {overdue} newly overdue");
        }
        if let Mode::Seed { lines, seed } = mode {
            let started = std::time::Instant::now();
            let written = sesame::demo::seed_lines(&database.url, lines, seed).await?;
            println!(
                "wrote {written} delivered order lines (seed {seed}) in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        if let Mode::Export {
            epci,
            from,
            to,
            out,
            force,
        } = &mode
        {
            let started = std::time::Instant::now();
            let rows =
                sesame::opendata::export::write_package(&database.url, epci, from, to, out, *force)
                    .await?;
            println!(
                "wrote the package of EPCI {epci} for {from} – {to} into {} ({rows} transactions) in {:.1} s",
                out.display(),
                started.elapsed().as_secs_f64()
            );
        }
        if let (Some(secret), Some(listener)) = (&secret, listener) {
            server::serve(&settings, listener, metrics_listener, &database.url, secret).await?;
        }
        anyhow::Ok(())
    });
    let closed = database.close();
    outcome.and(closed)
}

/// Where to look and who to log in as.
fn print_welcome(address: std::net::SocketAddr, accounts: &[sesame::demo::Account]) {
    let base = format!("http://{address}");
    println!("\nSésame demonstration: Cœur d'Essonne Agglomération\n");
    println!("  API documentation  {base}/docs/");
    println!("  OpenAPI document   {base}/api/openapi.json\n");
    println!("  Log in with POST {base}/api/v1/auth/login as one of:");
    for (role, email, organisation) in accounts {
        println!("    {role:<12} {email:<62} {organisation}");
    }
    println!("  Password (every account): {}\n", sesame::demo::PASSWORD);
}

fn create_user(
    settings: Settings,
    email: &str,
    display_name: &str,
    admin: bool,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let _log = telemetry::init_logging(&settings.log, settings.log_format);
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        sesame::auth::password::generate()?
    };
    let database = Database::open(&settings, "admin create-user", Sharing::MayAttach)?;
    let outcome = actix_web::rt::System::new().block_on(async {
        server::prepare(&database.url).await?;
        server::create_user(&database.url, email, display_name, &password, admin).await
    });
    database.close()?;
    let user = outcome?;
    println!(
        "created user {} ({}){}",
        user.email,
        user.id,
        if user.is_admin { ", administrator" } else { "" }
    );
    if !password_stdin {
        println!("password (shown once): {password}");
    }
    Ok(())
}
