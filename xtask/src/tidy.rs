//! Mechanical checks of the architecture rules stated in `ARCHITECTURE.md`, read from
//! `cargo metadata` and the source tree, so a new dependency edge or a forgotten
//! `#![forbid(unsafe_code)]` fails the build instead of drifting in unnoticed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

/// External crates that only one of our crates may depend on (normal, non-dev dependencies).
const OWNED_DEPENDENCIES: &[(&str, &[&str])] = &[
    // The HTTP edge is the only part that speaks HTTP or TLS.
    ("axum", &["edge"]),
    ("hyper", &["edge"]),
    ("hyper-util", &["edge"]),
    ("tower", &["edge"]),
    ("utoipa", &["edge"]),
    ("rustls", &["edge"]),
    ("tokio-rustls", &["edge"]),
    ("rcgen", &["edge"]),
    // Only the binary speaks OpenID Connect and makes outgoing HTTPS calls (to identity
    // providers), through one client that trusts only the roots it is given.
    ("openidconnect", &["trygg"]),
    ("reqwest", &["trygg"]),
    // Only the binary sends e-mail (meeting invitations), through one SMTP transport.
    ("lettre", &["trygg"]),
    // Only the store knows SQL.
    ("sqlx", &["store"]),
    // Only the vault does symmetric encryption.
    ("aes-gcm", &["vault"]),
    // Only the policy crate evaluates authorisation.
    ("cedar-policy", &["policy"]),
    // Only identity hashes passwords and makes TOTP codes.
    ("argon2", &["identity"]),
    ("qrcode", &["identity"]),
    ("sha1", &["identity"]),
    // Only the audit chain signs.
    ("ed25519-dalek", &["audit"]),
    // Passkey ceremonies are verified in one place, the identity service (it brings OpenSSL).
    ("webauthn-rs", &["trygg"]),
    // Only the MLS delivery service parses MLS, and it has no crypto provider to decrypt with.
    ("openmls", &["delivery"]),
    ("tls_codec", &["delivery"]),
    ("openmls_rust_crypto", &[]),
    // Only the media relay speaks WebRTC (and brings aws-lc-rs with str0m).
    ("str0m", &["sfu"]),
    // Binaries report errors with anyhow; libraries have their own error types.
    ("anyhow", &["trygg", "xtask"]),
    ("clap", &["trygg"]),
    ("tracing-subscriber", &["trygg"]),
];

/// Crates that make decisions or hold keys and therefore do no async IO.
const NO_RUNTIME: &[&str] = &["audit", "vault", "config", "policy", "meeting", "delivery"];

/// Package registry hosts that must not be named in the repository.
const REGISTRY_HOSTS: &[&str] = &[
    concat!("crates", ".io"),
    concat!("registry", ".npmjs"),
    concat!("pypi", ".org"),
    concat!("pythonhosted", ".org"),
    concat!("deb", ".debian.org"),
];

/// Every rule that is broken, as one sentence each. Empty means tidy.
pub fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let metadata = metadata(root)?;
    let mut problems = Vec::new();
    let ours = our_packages(&metadata);

    for (package, dependencies) in &ours {
        for (dependency, owners) in OWNED_DEPENDENCIES {
            if dependencies.iter().any(|d| d == dependency) && !owners.contains(&package.as_str()) {
                problems.push(format!(
                    "crate `{package}` depends on `{dependency}`, which only {owners:?} may use"
                ));
            }
        }
        if NO_RUNTIME.contains(&package.as_str())
            && dependencies.iter().any(|d| d == "tokio" || d == "sqlx")
        {
            problems.push(format!(
                "crate `{package}` must not do IO through tokio or sqlx; time and data come in as values"
            ));
        }
    }

    for entry in walk(root)? {
        let relative = entry.strip_prefix(root).unwrap_or(&entry).to_path_buf();
        let name = relative.to_string_lossy().into_owned();
        let Ok(text) = std::fs::read_to_string(&entry) else {
            continue;
        };
        if name.ends_with(".rs") && !name.starts_with("web/") {
            if !text.trim_start().starts_with("//!") {
                problems.push(format!("{name} does not open with a `//!` paragraph"));
            }
            let is_root = name.ends_with("src/lib.rs") || name.ends_with("src/main.rs");
            if is_root && !text.contains("#![forbid(unsafe_code)]") {
                problems.push(format!("{name} lacks #![forbid(unsafe_code)]"));
            }
        }
        if name.ends_with("Cargo.toml") && name != "Cargo.toml" {
            for needle in [
                "version.workspace = true",
                "publish.workspace = true",
                "[lints]\nworkspace = true",
            ] {
                if !text.contains(needle) {
                    problems.push(format!("{name} lacks `{}`", needle.replace('\n', " ")));
                }
            }
        }
        for host in REGISTRY_HOSTS {
            if text.contains(host) && !name.ends_with("tidy.rs") && name != "Cargo.lock" {
                problems.push(format!("{name} names a package registry host"));
            }
        }
    }
    Ok(problems)
}

fn metadata(root: &Path) -> anyhow::Result<serde_json::Value> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .context("cannot run cargo metadata")?;
    anyhow::ensure!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Our workspace packages and the names of their normal (non-dev, non-build) dependencies.
fn our_packages(metadata: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|member| member.as_str())
        .collect();
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| {
            package["id"]
                .as_str()
                .is_some_and(|id| members.contains(&id))
        })
        .map(|package| {
            let name = package["name"].as_str().unwrap_or_default().to_owned();
            let dependencies = package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|dependency| dependency["kind"].is_null())
                .filter_map(|dependency| dependency["name"].as_str().map(str::to_owned))
                .collect();
            (name, dependencies)
        })
        .collect()
}

/// Files under the repository, skipping build output, dependencies and VCS data.
fn walk(root: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    const SKIP: &[&str] = &["target", "node_modules", ".git", "dist", ".trygg-demo"];
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            if entry.file_type()?.is_dir() {
                if !SKIP.iter().any(|skip| name == *skip) {
                    pending.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_architecture_rules_hold() {
        let problems = super::check(&crate::root()).expect("tidy can read the tree");
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }
}
