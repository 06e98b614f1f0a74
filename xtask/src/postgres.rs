//! A throwaway PostgreSQL server for the store suite: a fresh cluster under the build directory,
//! on a loopback port, trust authentication, stopped and removed when dropped.
//!
//! PostgreSQL refuses to run as root, so as root the cluster is owned by and run as the
//! `postgres` system user that Debian's package creates.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context as _;

use crate::run;

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_user: Option<&'static str>,
}

/// The newest installed PostgreSQL's `bin` directory.
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

impl Cluster {
    /// Starts a cluster. `durable` keeps PostgreSQL's default fsync and synchronous commit (for
    /// benchmarks of durable writes); tests turn them off for speed.
    pub fn start(durable: bool) -> anyhow::Result<Cluster> {
        let bin = bin_dir().context("PostgreSQL is not installed (Debian package postgresql)")?;
        // Under the world-traversable temporary directory, so the `postgres` user can reach it.
        let dir = std::env::temp_dir().join("trygg-test-postgres");
        if dir.exists() {
            // A cluster left running by an interrupted run: stop it before starting over.
            let _ = Command::new(bin.join("pg_ctl"))
                .args(["stop", "-m", "immediate", "-D"])
                .arg(dir.join("data"))
                .status();
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)?;
        let as_user = is_root().then_some("postgres");
        if let Some(user) = as_user {
            run(Command::new("chown")
                .args([&format!("{user}:{user}")])
                .arg(&dir))?;
        }
        let port = free_port()?;
        let cluster = Cluster {
            bin,
            dir,
            port,
            as_user,
        };
        let data = cluster.dir.join("data");
        let socket_dir = cluster.dir.clone();
        println!("\n==> start PostgreSQL on 127.0.0.1:{port}");
        run(cluster
            .command("initdb")
            .args([
                "--auth=trust",
                "--username=trygg",
                "--encoding=UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data))?;
        run(cluster
            .command("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(cluster.dir.join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {}{}",
                socket_dir.display(),
                if durable {
                    ""
                } else {
                    " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
                }
            )))?;
        run(cluster.command("createdb").args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "trygg",
            "trygg_test",
        ]))?;
        Ok(cluster)
    }

    /// The URL of the test database.
    pub fn url(&self) -> String {
        format!("postgres://trygg@127.0.0.1:{}/trygg_test", self.port)
    }

    fn command(&self, program: &str) -> Command {
        match self.as_user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(self.bin.join(program));
                command
            }
            None => Command::new(self.bin.join(program)),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["stop", "-m", "fast", "-D"])
            .arg(self.dir.join("data"))
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| output.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
