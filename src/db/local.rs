//! A private PostgreSQL cluster run from the system's PostgreSQL binaries, for
//! when no `DATABASE_URL` is given: `sesame demo` on a laptop, and the tests.
//!
//! The cluster listens on 127.0.0.1 only, on a free port, with a random
//! password stored beside it (mode 0600). As root (CI, containers) PostgreSQL
//! refuses to run, so initdb and the server run as the `postgres` user; when
//! that user cannot reach the data directory (a clone inside a root-only
//! folder such as `mktemp -d` makes), the cluster's own files live under
//! /var/tmp in a directory named after the data directory ([`cluster_home`]).
//!
//! A small watchdog shell holds a pipe from this process: when the pipe closes
//! (normal exit, panic, even SIGKILL) it stops the cluster, so no server is
//! left behind whatever happens to Sésame.
//!
//! The process that starts the cluster owns the directory ([`super::owner`]);
//! other commands attach to its cluster ([`LocalPostgres::open`]) and never
//! stop it.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::owner::{Claim, Owner, OwnerLock};

const SUPERUSER: &str = "sesame";
pub const DATABASE: &str = "sesame";
/// The unprivileged account PostgreSQL runs as when Sésame runs as root.
const SERVICE_ACCOUNT: &str = "postgres";
/// Where the service account's cluster lives when it cannot reach the data
/// directory: traversable by every user, and kept across reboots.
const UNPRIVILEGED_ROOT: &str = "/var/tmp";

/// What a user can do when no PostgreSQL can be had. Shown verbatim.
pub const NO_POSTGRES_HELP: &str = "\
Sésame needs PostgreSQL, and none was found.
DATABASE_URL is not set, and no PostgreSQL server binaries (initdb, pg_ctl) were
found on PATH or under /usr/lib/postgresql/*/bin. Any one of these fixes it:
  1. install PostgreSQL's server (Debian/Ubuntu: `apt-get install postgresql`,
     Fedora: `dnf install postgresql-server`, macOS: `brew install postgresql@16`)
     and Sésame will run its own private cluster under SESAME_DATA_DIR;
  2. point Sésame at an existing server:
     DATABASE_URL=postgres://user:password@host:5432/sesame;
  3. run PostgreSQL and Sésame together with Docker: `docker compose up`.";

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `false` for throw-away clusters (tests): no fsync, much faster.
    pub durable: bool,
    /// Delete the whole directory when the cluster stops.
    pub remove_on_stop: bool,
    pub max_connections: u32,
}

pub struct LocalPostgres {
    port: u16,
    password: String,
    pgdata: PathBuf,
    watchdog: Option<Child>,
    lock: OwnerLock,
}

/// What a command gets from a data directory.
pub enum Opened {
    /// This process started the cluster and stops it when done.
    Started(LocalPostgres),
    /// Another process runs the cluster; this one only connects to it.
    Attached { url: String, owner: Owner },
}

impl LocalPostgres {
    /// Starts (initialising it first if needed) the cluster that lives in
    /// `dir`; refuses when another process runs it.
    pub fn start(dir: &Path, options: Options) -> anyhow::Result<Self> {
        match Self::open(dir, options, "sesame", false)? {
            Opened::Started(cluster) => Ok(cluster),
            Opened::Attached { .. } => unreachable!("attaching was not allowed"),
        }
    }

    /// Starts the cluster of `dir` for `command`, or, when another process
    /// already runs it and `may_attach`, connects to that one. Without
    /// `may_attach`, a running owner is an error that says what to do.
    pub fn open(
        dir: &Path,
        options: Options,
        command: &str,
        may_attach: bool,
    ) -> anyhow::Result<Opened> {
        let bin = find_binaries().ok_or_else(|| anyhow::anyhow!(NO_POSTGRES_HELP))?;
        let run_as = service_account()?;
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let lock = match OwnerLock::claim(&dir, command)? {
            Claim::Owned(lock) => lock,
            Claim::Held(owner) if may_attach => {
                let port = super::owner::wait_for_port(&dir, owner.clone())?;
                let password = read_password(&dir.join("pg-password"))?;
                return Ok(Opened::Attached {
                    url: url(&password, port, DATABASE),
                    owner,
                });
            }
            Claim::Held(owner) => bail!(
                "`{}` (pid {}) is already running on the private cluster in {}. Stop it first \
                 (Ctrl-C), or run this one with another SESAME_DATA_DIR (a separate database), \
                 or on the same data with DATABASE_URL set to the running cluster's URL",
                owner.command,
                owner.pid,
                dir.display()
            ),
        };
        Self::start_owned(&bin, run_as.as_deref(), &dir, options, lock).map(Opened::Started)
    }

    fn start_owned(
        bin: &Path,
        run_as: Option<&str>,
        dir: &Path,
        options: Options,
        lock: OwnerLock,
    ) -> anyhow::Result<Self> {
        let home = cluster_home(dir, run_as)?;
        let pgdata = home.join("pgdata");
        let log_file = pgdata.join("server.log");
        let password_file = dir.join("pg-password");

        if !pgdata.join("PG_VERSION").exists() {
            init_cluster(bin, run_as, &home, &pgdata, &password_file)?;
        }
        let password = read_password(&password_file)?;

        let pg_ctl = |args: &[&str]| pg_command(&bin.join("pg_ctl"), run_as, args);
        // Running, yet no Sésame owns it (the watchdog of a killed owner keeps
        // the lock until its cluster is down): someone else started it.
        if pg_ctl(&["status", "-D", path_str(&pgdata)?])
            .stdout(Stdio::null())
            .status()?
            .success()
        {
            bail!(
                "a PostgreSQL server already runs from {} and no Sésame started it; stop it \
                 (`pg_ctl stop -D {}`{}) and run this again",
                pgdata.display(),
                pgdata.display(),
                run_as
                    .map(|u| format!(" as the `{u}` user"))
                    .unwrap_or_default()
            );
        }

        let port = choose_port(&dir.join("port"))?;
        let mut server_options = format!(
            "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
             -c max_connections={}",
            options.max_connections
        );
        if !options.durable {
            server_options
                .push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let started = pg_ctl(&[
            "start",
            "-D",
            path_str(&pgdata)?,
            "-l",
            path_str(&log_file)?,
            "-w",
            "-t",
            "60",
            "-o",
            &server_options,
        ])
        .stdout(Stdio::null())
        .status()
        .context("cannot run pg_ctl")?;
        if !started.success() {
            bail!(
                "the private PostgreSQL cluster in {} did not start; its log says:\n{}",
                pgdata.display(),
                tail(&log_file, 20)
            );
        }

        let mut removed = vec![dir];
        if home != dir {
            removed.push(&home);
        }
        let removed = if options.remove_on_stop {
            &removed[..]
        } else {
            &[]
        };
        let watchdog = spawn_watchdog(bin, run_as, &pgdata, removed, &lock)?;
        let mut cluster = Self {
            port,
            password,
            pgdata,
            watchdog: Some(watchdog),
            lock,
        };
        cluster.create_database(bin, run_as)?;
        // Only now may other commands attach: the database exists.
        cluster.lock.announce(port)?;
        Ok(cluster)
    }

    /// URL of a database of this cluster.
    pub fn url(&self, database: &str) -> String {
        url(&self.password, self.port, database)
    }

    /// Stops the cluster and waits until it is down.
    pub fn stop(mut self) -> anyhow::Result<()> {
        if let Some(mut watchdog) = self.watchdog.take() {
            drop(watchdog.stdin.take()); // closing the pipe is the stop signal
            watchdog.wait().context("the PostgreSQL watchdog failed")?;
        }
        Ok(())
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m
    /// immediate`: no checkpoint, recovery from the WAL at the next start).
    /// For fault tests; the cluster's files stay for a restart.
    pub fn crash(self) -> anyhow::Result<()> {
        let bin = find_binaries().ok_or_else(|| anyhow::anyhow!(NO_POSTGRES_HELP))?;
        let run_as = service_account()?;
        let pgdata = path_str(&self.pgdata)?;
        let args = ["stop", "-D", pgdata, "-m", "immediate", "-w"];
        let stopped = pg_command(&bin.join("pg_ctl"), run_as.as_deref(), &args)
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(stopped.success(), "pg_ctl stop -m immediate failed");
        self.stop()
    }

    fn create_database(&self, bin: &Path, run_as: Option<&str>) -> anyhow::Result<()> {
        // createdb reads the password from the environment, never from argv.
        let output = pg_command(
            &bin.join("createdb"),
            run_as,
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                DATABASE,
            ],
        )
        .env("PGPASSWORD", &self.password)
        .stderr(Stdio::piped())
        .output()
        .context("cannot run createdb")?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() || stderr.contains("already exists") {
            Ok(())
        } else {
            bail!("createdb failed: {stderr}")
        }
    }
}

fn url(password: &str, port: u16, database: &str) -> String {
    format!("postgres://{SUPERUSER}:{password}@127.0.0.1:{port}/{database}")
}

fn read_password(file: &Path) -> anyhow::Result<String> {
    Ok(fs::read_to_string(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .trim()
        .to_owned())
}

/// The directory holding initdb and pg_ctl: PATH first (the user's choice),
/// then the newest version under Debian's /usr/lib/postgresql.
pub fn find_binaries() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_binaries_in(&path, Path::new("/usr/lib/postgresql"))
}

fn find_binaries_in(path: &std::ffi::OsStr, versions_root: &Path) -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::split_paths(path).find(|d| has_tools(d)) {
        // Through symlinks to the installation itself, where createdb is too.
        return dir
            .join("pg_ctl")
            .canonicalize()
            .ok()
            .and_then(|real| real.parent().map(Path::to_path_buf))
            .or(Some(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(versions_root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

/// `Some("postgres")` when running as root, where PostgreSQL refuses to start.
fn service_account() -> anyhow::Result<Option<String>> {
    let is_root = fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if !is_root {
        return Ok(None);
    }
    let exists = Command::new("id")
        .args(["-u", SERVICE_ACCOUNT])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !exists {
        bail!(
            "Sésame runs as root, and PostgreSQL refuses to run as root: create an unprivileged \
             `{SERVICE_ACCOUNT}` user (installing PostgreSQL's server package does), or set DATABASE_URL"
        );
    }
    Ok(Some(SERVICE_ACCOUNT.to_owned()))
}

/// A command run as `run_as` when given (through `runuser`), in its own process
/// group so that a Ctrl-C meant for Sésame does not kill PostgreSQL mid-flight:
/// Sésame stops it cleanly itself.
fn pg_command(program: &Path, run_as: Option<&str>, args: &[&str]) -> Command {
    let mut command = match run_as {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    };
    command.args(args).process_group(0);
    command
}

/// Where PostgreSQL's own files go (its data directory, initdb's password
/// file), owned by the service account when there is one: `dir` itself when
/// that account can reach it, otherwise `/var/tmp/sesame-<digest of dir>`, so
/// that the same `dir` finds the same cluster at every start.
fn cluster_home(dir: &Path, run_as: Option<&str>) -> anyhow::Result<PathBuf> {
    let Some(user) = run_as else {
        return Ok(dir.to_path_buf());
    };
    let home = if can_enter(user, dir.parent().unwrap_or(dir)) {
        dir.to_path_buf()
    } else {
        let digest = Sha256::digest(path_str(dir)?.as_bytes());
        let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let home = Path::new(UNPRIVILEGED_ROOT).join(format!("sesame-{name}"));
        fs::create_dir_all(&home).with_context(|| format!("cannot create {}", home.display()))?;
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700))?;
        home
    };
    let ownership = Command::new("chown")
        .arg(format!("{user}:"))
        .arg(&home)
        .status()?;
    if !ownership.success() {
        bail!("cannot give {} to the `{user}` user", home.display());
    }
    Ok(home)
}

/// Whether `user` may traverse every directory down to `path`.
fn can_enter(user: &str, path: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", user, "--", "test", "-x"])
        .arg(path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn init_cluster(
    bin: &Path,
    run_as: Option<&str>,
    home: &Path,
    pgdata: &Path,
    password_file: &Path,
) -> anyhow::Result<()> {
    // A half-made cluster from an interrupted first run: it is ours, start over.
    if pgdata.exists() {
        fs::remove_dir_all(pgdata)?;
    }
    let password = random_hex();
    let pwfile = home.join("initdb-pwfile");
    fs::write(&pwfile, &password)?;
    fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))?;
    if let Some(user) = run_as {
        Command::new("chown")
            .arg(format!("{user}:"))
            .arg(&pwfile)
            .status()?;
    }
    let output = pg_command(
        &bin.join("initdb"),
        run_as,
        &[
            "-D",
            path_str(pgdata)?,
            "-U",
            SUPERUSER,
            "--pwfile",
            path_str(&pwfile)?,
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
        ],
    )
    .output()
    .context("cannot run initdb")?;
    fs::remove_file(&pwfile)?;
    if !output.status.success() {
        bail!(
            "initdb failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(password_file)?;
    file.write_all(password.as_bytes())?;
    Ok(())
}

/// Stops the cluster when this process's end of its stdin closes. It holds
/// the directory's lock (as its stdout, where nothing is written) until the
/// cluster is down, so no other process starts one meanwhile.
fn spawn_watchdog(
    bin: &Path,
    run_as: Option<&str>,
    pgdata: &Path,
    removed: &[&Path],
    lock: &OwnerLock,
) -> anyhow::Result<Child> {
    let as_user = run_as
        .map(|u| format!("runuser -u {u} -- "))
        .unwrap_or_default();
    // $0 is pg_ctl, $1 the data directory, $2… what to delete once stopped.
    let script = format!(
        "cat >/dev/null; {as_user}\"$0\" stop -D \"$1\" -m fast -w >/dev/null; \
         shift; [ $# -eq 0 ] || rm -rf \"$@\""
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(bin.join("pg_ctl"))
        .arg(pgdata)
        .args(removed)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(lock.share()?))
        .process_group(0)
        .spawn()
        .context("cannot start the PostgreSQL watchdog")
}

/// The port this cluster had last time when it is still free (URLs stay
/// stable across restarts), otherwise a new free one; remembered in `file`.
fn choose_port(file: &Path) -> anyhow::Result<u16> {
    let previous = fs::read_to_string(file)
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok());
    let port = match previous {
        Some(port) if TcpListener::bind(("127.0.0.1", port)).is_ok() => port,
        _ => TcpListener::bind("127.0.0.1:0")?.local_addr()?.port(),
    };
    fs::write(file, port.to_string())?;
    Ok(port)
}

fn random_hex() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .ok_or_else(|| anyhow::anyhow!("{} is not valid UTF-8", path.display()))
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::fs;

    use super::find_binaries_in;

    #[test]
    fn binaries_are_found_on_path_or_under_the_newest_debian_version() {
        let root =
            std::env::temp_dir().join(format!("sesame-bin-{}", uuid::Uuid::new_v4().simple()));
        let versions = root.join("lib");
        let nothing = OsString::from(root.join("empty"));
        assert_eq!(
            find_binaries_in(&nothing, &versions),
            None,
            "no PostgreSQL anywhere"
        );

        for version in ["9", "15", "16"] {
            let bin = versions.join(version).join("bin");
            fs::create_dir_all(&bin).unwrap();
            fs::write(bin.join("initdb"), "").unwrap();
            fs::write(bin.join("pg_ctl"), "").unwrap();
        }
        fs::create_dir_all(versions.join("17").join("bin")).unwrap(); // a client-only install
        assert_eq!(
            find_binaries_in(&nothing, &versions),
            Some(versions.join("16").join("bin"))
        );

        let on_path = root.join("path");
        fs::create_dir_all(&on_path).unwrap();
        fs::write(on_path.join("initdb"), "").unwrap();
        fs::write(on_path.join("pg_ctl"), "").unwrap();
        let path = std::env::join_paths([root.join("empty"), on_path.clone()]).unwrap();
        assert_eq!(
            find_binaries_in(&path, &versions),
            Some(on_path.canonicalize().unwrap())
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
