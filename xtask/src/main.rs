//! Project automation, run as `cargo xtask <task>`. No shell scripts: everything a developer or
//! CI does beyond `cargo build` lives here.
//!
//! - `test`: the whole test suite. Installs what the tests need (Debian packages, npm packages),
//!   starts a throwaway PostgreSQL, builds the web client and the server, runs every Rust test
//!   on SQLite and PostgreSQL, then the browser tests in Chromium. `.ci/run` calls exactly this.
//! - `demo`: builds the web client and the release server and runs `trygg demo`.
//! - `bench`: the criterion benchmarks, with a durable PostgreSQL for the store's.
//! - `web`: installs the web client's npm packages and builds it into `web/dist`.
//! - `smtp-sink`: installs the test SMTP server (PyPI `aiosmtpd`) into a virtualenv beside the
//!   build output, where the Rust and browser tests find it (`test` does this too).
//! - `synapse`: installs Matrix Synapse (PyPI `matrix-synapse`) into a virtualenv beside the
//!   build output, for the delivery fan-out benchmark (`bench-fanout` does this too).
//! - `bench-fanout`: the delivery fan-out benchmark, Trygg against Synapse.
//! - `config-example`: rewrites `docs/trygg.example.toml` from the configuration's doc comments.
//! - `signalling-types`: rewrites `web/src/generated/signalling.ts` from the signalling protocol's
//!   Rust types.
//! - `tidy`: the architecture checks of `tidy.rs` (also run as a test).

#![forbid(unsafe_code)]

mod postgres;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "test" => test(),
        "demo" => demo(&rest),
        "bench" => bench(&rest),
        "bench-fanout" => {
            ensure_synapse()?;
            run(cargo().args([
                "bench",
                "--locked",
                "-p",
                "trygg",
                "--bench",
                "delivery_fanout",
            ]))
        }
        "web" => web(),
        "smtp-sink" => ensure_smtp_sink().map(|python| {
            println!("smtp-sink: {}", python.display());
        }),
        "synapse" => ensure_synapse().map(|python| {
            println!("synapse: {}", python.display());
        }),
        "config-example" => config_example(),
        "signalling-types" => run(cargo()
            .args([
                "test",
                "--quiet",
                "-p",
                "trygg",
                "--lib",
                "meetings::wire::tests::the_generated_typescript_is_current",
            ])
            .env("TRYGG_WRITE_GENERATED", "1")),
        "tidy" => {
            let problems = tidy::check(&root())?;
            if problems.is_empty() {
                println!("tidy: ok");
                Ok(())
            } else {
                for problem in &problems {
                    eprintln!("tidy: {problem}");
                }
                bail!("{} tidy problem(s)", problems.len())
            }
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 test            run the whole test suite (installs what it needs)\n  \
                 demo [ARGS]     build everything and run `trygg demo ARGS`\n  \
                 bench [FILTER]  run the criterion benchmarks (starts PostgreSQL)\n  \
                 bench-fanout    the delivery fan-out benchmark, Trygg against Synapse\n  \
                 web             build the web client into web/dist\n  \
                 smtp-sink       install the test SMTP server (aiosmtpd)\n  \
                 synapse         install Matrix Synapse, the fan-out benchmark's peer\n  \
                 config-example  regenerate docs/trygg.example.toml\n  \
                 signalling-types  regenerate web/src/generated/signalling.ts\n  \
                 tidy            check the architecture rules"
            );
            std::process::exit(2);
        }
    }
}

/// The repository root (the parent of this crate).
pub fn root() -> PathBuf {
    // `cargo run` (behind `cargo xtask`) names this checkout's xtask directory at run time. The
    // compile-time value is only the fallback: a target directory shared between checkouts may
    // hold an xtask binary that another checkout built, and its path would be that checkout's.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

fn test() -> anyhow::Result<()> {
    ensure_system_packages()?;
    ensure_smtp_sink()?;
    web()?;
    step("web client typecheck");
    run(npm()
        .args(["run", "--silent", "typecheck"])
        .current_dir(root().join("web")))?;

    step("build the server and every test");
    run(cargo().args(["build", "--workspace", "--all-targets", "--locked"]))?;

    let postgres = postgres::Cluster::start(false)?;
    let url = postgres.url();
    step("Rust tests (store suite on SQLite and PostgreSQL)");
    let rust = run(cargo()
        .args(["test", "--workspace", "--locked"])
        .env("TRYGG_TEST_POSTGRES_URL", &url));
    step("browser tests (Chromium)");
    let browser = rust.as_ref().ok().map(|()| {
        run(npm()
            .args(["test"])
            .current_dir(root().join("web"))
            .env("TRYGG_BIN", target_dir()?.join("debug/trygg")))
    });
    drop(postgres);
    rust?;
    if let Some(browser) = browser {
        browser?;
    }
    println!("\nxtask test: every suite passed");
    Ok(())
}

/// Runs the criterion benchmarks, with a durable PostgreSQL for the store's. Extra arguments go
/// to criterion (for example a filter such as `audit_append`).
fn bench(args: &[String]) -> anyhow::Result<()> {
    let postgres = postgres::Cluster::start(true)?;
    step("criterion benchmarks");
    let result = run(cargo()
        .args([
            "bench", "--locked", "-p", "vault", "-p", "audit", "-p", "store", "--",
        ])
        .args(args)
        .env("TRYGG_BENCH_POSTGRES_URL", postgres.url()));
    drop(postgres);
    result
}

fn demo(args: &[String]) -> anyhow::Result<()> {
    apt_install(&build_packages_missing())?;
    web()?;
    step("build and run trygg demo (release)");
    run(cargo()
        .args([
            "run",
            "--release",
            "--locked",
            "--package",
            "trygg",
            "--",
            "demo",
        ])
        .args(args))
}

fn web() -> anyhow::Result<()> {
    let web = root().join("web");
    step("web client: npm ci");
    if which("npm").is_none() {
        apt_install(&["nodejs", "npm"])?;
    }
    run(npm()
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(&web))?;
    step("web client: build");
    run(npm().args(["run", "--silent", "build"]).current_dir(&web))?;
    // The server embeds web/dist through the edge crate's build script. Cargo decides whether
    // to rerun that script from the paths it recorded last time, which belong to whichever
    // checkout last built into a shared target directory; marking the script changed makes
    // every build embed this checkout's client.
    let build_script = root().join("crates/edge/build.rs");
    std::fs::File::options()
        .append(true)
        .open(&build_script)
        .and_then(|file| file.set_modified(std::time::SystemTime::now()))
        .with_context(|| format!("cannot mark {} changed", build_script.display()))
}

fn config_example() -> anyhow::Result<()> {
    let path = root().join("docs/trygg.example.toml");
    std::fs::write(&path, config::example_toml())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Installs the Debian packages the tests use if they are missing: Chromium for the browser
/// tests, the PostgreSQL server for the store suite, Node.js for the web client and the test
/// OpenID Provider, openssl for that provider's certificate, coturn for the TURN test, and what
/// the build needs.
fn ensure_system_packages() -> anyhow::Result<()> {
    let mut missing = build_packages_missing();
    if !Path::new("/usr/bin/chromium").exists() {
        missing.push("chromium");
    }
    if postgres::bin_dir().is_none() {
        missing.push("postgresql");
    }
    if which("node").is_none() {
        missing.extend(["nodejs", "npm"]);
    }
    // The test OpenID Provider (web/tests/oidc-provider.mjs) makes its certificate with it.
    if which("openssl").is_none() {
        missing.push("openssl");
    }
    // The TURN relay the TURN credential test allocates on (web/tests/turn.test.mjs).
    if which("turnserver").is_none() {
        missing.push("coturn");
    }
    apt_install(&missing)
}

/// The aiosmtpd release the tests' SMTP server (`web/tests/smtp-sink.py`) is written against.
const AIOSMTPD: &str = "aiosmtpd==1.4.6";

/// The Matrix homeserver the delivery fan-out benchmark measures as its peer
/// (`crates/trygg/benches/delivery_fanout.rs`).
const SYNAPSE: &str = "matrix-synapse==1.163.2";

/// Installs aiosmtpd into `<target dir>/smtp-venv` unless it is there, and returns that
/// virtualenv's python. The tests look for it there (beside the `trygg` binary's `debug/`), so
/// nothing needs to be passed to them.
fn ensure_smtp_sink() -> anyhow::Result<PathBuf> {
    ensure_venv("smtp-venv", "aiosmtpd", AIOSMTPD, "test SMTP server")
}

/// Installs Synapse into `<target dir>/synapse-venv` unless it is there; the benchmark looks
/// for it there.
fn ensure_synapse() -> anyhow::Result<PathBuf> {
    ensure_venv("synapse-venv", "synapse", SYNAPSE, "Matrix Synapse")
}

/// Installs `requirement` into the virtualenv `<target dir>/<name>` unless `module` imports
/// there already, and returns its python. Brings Debian's `python3-venv` if `venv` is missing.
fn ensure_venv(name: &str, module: &str, requirement: &str, what: &str) -> anyhow::Result<PathBuf> {
    let venv = target_dir()?.join(name);
    let python = venv.join("bin/python");
    let installed = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        return Ok(python);
    }
    step(&format!("{what}: {requirement} in a virtualenv"));
    let has_venv = Command::new("python3")
        .args(["-c", "import ensurepip, venv"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !has_venv {
        apt_install(&["python3-venv"])?;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        requirement,
    ]))?;
    Ok(python)
}

/// The Debian packages the server's build needs and lacks: webauthn-rs verifies passkeys with
/// OpenSSL, found through pkg-config.
fn build_packages_missing() -> Vec<&'static str> {
    let mut missing = Vec::new();
    if which("pkg-config").is_none() {
        missing.push("pkg-config");
    }
    let has_openssl_headers = Command::new("pkg-config")
        .args(["--exists", "openssl"])
        .status()
        .is_ok_and(|status| status.success());
    if !has_openssl_headers {
        missing.push("libssl-dev");
    }
    missing
}

/// Installs `packages` (nothing to do for none).
fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    step(&format!("install Debian packages: {}", packages.join(" ")));
    run(Command::new("apt-get")
        .arg("update")
        .arg("-qq")
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` or `target/` under the root.
fn target_dir() -> anyhow::Result<PathBuf> {
    Ok(match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        }
        _ => root().join("target"),
    })
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

fn npm() -> Command {
    Command::new("npm")
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

fn step(title: &str) {
    println!("\n==> {title}");
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}
