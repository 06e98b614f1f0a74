//! The cost of authenticating and authorising one API request, in process (no TLS, no HTTP):
//! `authorise()` = parse the session token, look the session and its account up by the token's
//! hash (one query), check the timeouts, build the Cedar request and decide `session.read_own`;
//! the same followed by listing the account's sessions (`sessions()`, a whole API operation);
//! and the Cedar decision alone. Prints p50 / p99 / max over many calls on
//! the embedded SQLite store, as a Markdown table for BENCHMARKS.md.
//!
//! Run: `cargo bench -p trygg --bench request_auth`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use edge::identity::{EnrolmentFinishRequest, EnrolmentStartRequest, IdentityApi, RequestContext};
use identity::totp::{Totp, TotpSecret};

const CALLS: usize = 5_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn row(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "| {name} | {} | {:.1} µs | {:.1} µs | {:.1} µs |",
        samples.len(),
        micros(percentile(&samples, 0.5)),
        micros(percentile(&samples, 0.99)),
        micros(*samples.last().unwrap()),
    );
}

fn main() {
    if let Some(filter) = std::env::args().skip(1).find(|arg| !arg.starts_with('-')) {
        if !"request_auth".contains(&filter) {
            return;
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        let url = format!("sqlite:{}", dir.path().join("trygg.db").display());
        let sqlite = store::Store::connect(&url, 8, true).await.unwrap();
        let mut measured = vec![("SQLite", measure(sqlite, dir.path()).await)];
        match std::env::var("TRYGG_BENCH_POSTGRES_URL") {
            Ok(url) => {
                let postgres = fresh_postgres_schema(&url).await;
                let pg_dir = tempfile::tempdir().unwrap();
                measured.push(("PostgreSQL", measure(postgres, pg_dir.path()).await));
            }
            Err(_) => eprintln!("TRYGG_BENCH_POSTGRES_URL is not set: measuring SQLite only"),
        }
        let engine = policy::PolicyEngine::embedded().unwrap();
        let principal = policy::Principal::staff(
            policy::StaffId::new("a1"),
            [policy::Role::Adviser],
            "organisation",
            policy::StaffStatus::Active,
        );
        let resource = policy::Resource::session("s1", principal.id());
        let policy_context = policy::Context {
            auth_method: "password+totp".into(),
            mfa_age_secs: 30,
            session_age_secs: 60,
            device_id: "s1".into(),
            source: "127.0.0.1".parse().unwrap(),
            risk_score: 0,
            step_up_max_age_secs: 300,
        };
        let mut decisions = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let started = Instant::now();
            let decision =
                engine.decide(&principal, "session.read_own", &resource, &policy_context);
            decisions.push(started.elapsed());
            assert!(decision.is_allowed());
        }
        println!("| measure | calls | p50 | p99 | max |");
        println!("|---|---|---|---|---|");
        for (backend, (authorised, full)) in measured {
            row(&format!("authenticate + authorise ({backend})"), authorised);
            row(
                &format!("authenticate + authorise + list sessions ({backend})"),
                full,
            );
        }
        row("Cedar decision alone (session.read_own)", decisions);
    });
}

/// Sets up an enrolled administrator on `store` and measures `authorise()` and `sessions()`.
async fn measure(store: store::Store, dir: &std::path::Path) -> (Vec<Duration>, Vec<Duration>) {
    store.migrate(0).await.unwrap();
    let (keys, _) = trygg::keys::KeyService::open_file(&dir.join("keyring"), &store)
        .await
        .unwrap();
    let writer = store::AuditWriter::new(Arc::new(audit::CheckpointSigner::generate()), 1000);
    let accounts = trygg::accounts::AccountService::new(
        store.clone(),
        Arc::new(keys),
        writer,
        None,
        trygg::accounts::AccountSettings {
            sessions: identity::session::SessionPolicy::default(),
            step_up_max_age_secs: 300,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let made = accounts
        .bootstrap("bench@example.se", "Bench Admin")
        .await
        .unwrap();
    let context = RequestContext {
        source: Some("127.0.0.1".parse().unwrap()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0".into()),
    };
    let start = accounts
        .enrolment_start(
            EnrolmentStartRequest {
                token: made.token.clone(),
            },
            &context,
        )
        .await
        .unwrap();
    let secret = TotpSecret::from_base32(&start.totp.secret).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let done = accounts
        .enrolment_finish(
            EnrolmentFinishRequest {
                token: made.token,
                password: "ett långt lösenord för mätningar".into(),
                totp_code: Totp::default().code_at(&secret, now).to_string(),
            },
            &context,
        )
        .await
        .unwrap();
    let token = done.session.token;

    // Warm-up: caches, prepared statements, the policy engine.
    for _ in 0..200 {
        accounts.sessions(&token, &context).await.unwrap();
    }
    let mut authorised = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        let done = accounts
            .authorise::<policy::SessionReadOwn>(
                &token,
                |account, session| {
                    policy::Resource::session(
                        session.id.clone(),
                        policy::StaffId::new(account.id.clone()).into(),
                    )
                },
                &context,
            )
            .await
            .unwrap();
        authorised.push(started.elapsed());
        assert_eq!(done.account.status, "active");
    }
    let mut full = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        let listed = accounts.sessions(&token, &context).await.unwrap();
        full.push(started.elapsed());
        assert_eq!(listed.len(), 1);
    }

    (authorised, full)
}

/// A store on a schema of its own in the benchmark database.
async fn fresh_postgres_schema(url: &str) -> store::Store {
    let random: [u8; 8] = vault::random_bytes();
    let schema = format!("bench_{}", hex::encode(random));
    let admin = store::Store::connect(url, 1, false).await.unwrap();
    admin
        .danger_execute_raw_for_tests(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    admin.close().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    store::Store::connect(&url, 8, false).await.unwrap()
}
