//! One owner per data directory: the process that runs the private cluster
//! holds an exclusive `flock` on `owner.lock` for as long as the cluster is
//! up, and writes into it who it is and, once the cluster answers, its port.
//!
//! The cluster's watchdog shares the lock (it inherits the open file), so the
//! lock is released only when the cluster is really down, even after the
//! owner was killed. Another command finds the lock held and either attaches
//! to the running cluster or refuses; none ever stops a cluster it did not
//! start.

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const LOCK_FILE: &str = "owner.lock";
/// How long to wait for a cluster that is starting, or for the watchdog of a
/// killed owner to finish stopping its cluster.
const PATIENCE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// Who runs the cluster of a data directory, as written in its lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    /// The command it runs (`sesame demo`).
    pub command: String,
    /// Set once the cluster accepts connections.
    pub port: Option<u16>,
}

impl Owner {
    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        Some(Self {
            pid: lines.next()?.trim().parse().ok()?,
            command: lines.next()?.trim().to_owned(),
            port: lines.next().and_then(|p| p.trim().parse().ok()),
        })
    }

    fn is_alive(&self) -> bool {
        let Ok(pid) = libc::pid_t::try_from(self.pid) else {
            return false;
        };
        // Signal 0 only checks; EPERM still means the process exists.
        // SAFETY: kill with signal 0 sends nothing.
        let signalled = unsafe { libc::kill(pid, 0) } == 0;
        signalled || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

/// The held lock. Dropping it (with every copy handed to a child) releases it.
pub struct OwnerLock {
    file: File,
    command: String,
}

/// The outcome of claiming a data directory.
pub enum Claim {
    Owned(OwnerLock),
    /// Another live process owns it.
    Held(Owner),
}

impl OwnerLock {
    /// Takes the directory for `command`, or says who has it. When the owner
    /// is dead but its watchdog still holds the lock (it is stopping the
    /// cluster), waits for the lock.
    pub fn claim(dir: &Path, command: &str) -> anyhow::Result<Claim> {
        let path = dir.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let started = Instant::now();
        loop {
            if try_lock(&file)? {
                let mut lock = Self {
                    file,
                    command: command.to_owned(),
                };
                lock.write(None)?;
                return Ok(Claim::Owned(lock));
            }
            match read_owner(dir) {
                Some(owner) if owner.is_alive() => return Ok(Claim::Held(owner)),
                _ if started.elapsed() > PATIENCE => bail!(
                    "{} is still locked by a process that has ended; if no PostgreSQL runs \
                     from {}, delete the lock file and retry",
                    path.display(),
                    dir.join("pgdata").display()
                ),
                _ => std::thread::sleep(POLL),
            }
        }
    }

    /// Records that the cluster answers on `port`, for commands that attach.
    pub fn announce(&mut self, port: u16) -> anyhow::Result<()> {
        self.write(Some(port))
    }

    /// Another handle on the same lock, for a child that must keep the
    /// directory locked while it outlives this process (the watchdog).
    pub fn share(&self) -> anyhow::Result<File> {
        Ok(self.file.try_clone()?)
    }

    fn write(&mut self, port: Option<u16>) -> anyhow::Result<()> {
        let mut text = format!("{}\n{}\n", std::process::id(), self.command);
        if let Some(port) = port {
            text.push_str(&format!("{port}\n"));
        }
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()?;
        Ok(())
    }
}

/// The owner written in the directory's lock file, if any.
pub fn read_owner(dir: &Path) -> Option<Owner> {
    Owner::parse(&fs::read_to_string(dir.join(LOCK_FILE)).ok()?)
}

/// Waits until `owner` has announced its port (its cluster is starting), as
/// long as it lives.
pub fn wait_for_port(dir: &Path, owner: Owner) -> anyhow::Result<u16> {
    let started = Instant::now();
    let mut owner = owner;
    loop {
        if let Some(port) = owner.port {
            return Ok(port);
        }
        if !owner.is_alive() || started.elapsed() > PATIENCE {
            bail!(
                "{} (pid {}) holds the private cluster in {} but it did not start; retry when it runs",
                owner.command,
                owner.pid,
                dir.display()
            );
        }
        std::thread::sleep(POLL);
        owner = read_owner(dir).unwrap_or(owner);
    }
}

fn try_lock(file: &File) -> anyhow::Result<bool> {
    // SAFETY: flock on a descriptor this function borrows.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(error).context("cannot lock the data directory")
    }
}

#[cfg(test)]
mod tests {
    use super::{Claim, Owner, OwnerLock, read_owner};

    #[test]
    fn a_second_claim_names_the_owner_until_the_lock_is_released() {
        let dir =
            std::env::temp_dir().join(format!("sesame-owner-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let Claim::Owned(mut lock) = OwnerLock::claim(&dir, "sesame demo").unwrap() else {
            panic!("a free directory is claimed");
        };
        lock.announce(54321).unwrap();
        let me = Owner {
            pid: std::process::id(),
            command: "sesame demo".into(),
            port: Some(54321),
        };
        assert_eq!(read_owner(&dir), Some(me.clone()));
        // flock locks belong to the open file: a second open in this same
        // process is refused like another process would be.
        match OwnerLock::claim(&dir, "sesame export").unwrap() {
            Claim::Held(owner) => assert_eq!(owner, me),
            Claim::Owned(_) => panic!("the directory was claimed twice"),
        }
        drop(lock);
        assert!(matches!(
            OwnerLock::claim(&dir, "sesame export").unwrap(),
            Claim::Owned(_)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
