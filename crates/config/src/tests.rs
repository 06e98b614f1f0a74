//! Tests of loading, overriding, refusing and documenting the configuration.

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "trygg.toml", text);
    Config::load(Some(&path), env(vars))
}

#[test]
fn defaults_apply_without_file_or_environment() {
    let config = Config::load(None, env(&[("PATH", "/bin"), ("TRYGG_BIN", "x")])).unwrap();
    assert_eq!(config.http.listen, "0.0.0.0:8443".parse().unwrap());
    assert_eq!(config.log.format, LogFormat::Human);
    assert_eq!(config.database_url(), "sqlite:/var/lib/trygg/trygg.db");
}

#[test]
fn file_values_are_read_and_environment_wins() {
    let config = load_text(
        "[server]\ndata_dir = \"/srv/trygg\"\n[http]\nlisten = \"127.0.0.1:9000\"\n",
        &[
            ("TRYGG_HTTP__LISTEN", "127.0.0.1:9001"),
            ("TRYGG_LOG__FORMAT", "json"),
        ],
    )
    .unwrap();
    assert_eq!(config.server.data_dir, PathBuf::from("/srv/trygg"));
    assert_eq!(config.http.listen, "127.0.0.1:9001".parse().unwrap());
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn bad_input_is_refused_naming_the_key() {
    // (file text, environment, expected part of the one-line message)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "[http]\nlisen = \"x\"\n",
            &[],
            "config key `http.lisen`: unknown field `lisen`",
        ),
        ("[htp]\n", &[], "unknown field `htp`"),
        (
            "[http]\nlisten = \"nowhere\"\n",
            &[],
            "config key `http.listen`",
        ),
        (
            "[audit]\ncheckpoint_interval = -1\n",
            &[],
            "config key `audit.checkpoint_interval`",
        ),
        (
            "[audit]\ncheckpoint_interval = 0\n",
            &[],
            "`audit.checkpoint_interval`: expected",
        ),
        ("[log]\nformat = \"xml\"\n", &[], "config key `log.format`"),
        (
            "[sessions]\nidle_timeout_secs = 3600\n",
            &[],
            "`sessions.idle_timeout_secs`: expected 1 to 1800",
        ),
        (
            "[sessions]\nabsolute_timeout_secs = 86400\n",
            &[],
            "`sessions.absolute_timeout_secs`: expected",
        ),
        (
            "[sessions]\nstep_up_max_age_secs = 301\n",
            &[],
            "`sessions.step_up_max_age_secs`: expected 1 to 300",
        ),
        (
            "[http]\ntls_cert_file = \"/c.pem\"\n",
            &[],
            "`http.tls_key_file`: must be set together",
        ),
        (
            "[server]\npublic_url = \"http://x\"\n",
            &[],
            "`server.public_url`: expected an https://",
        ),
        (
            "[database]\nurl = \"mysql://x\"\n",
            &[],
            "`database.url`: expected a sqlite:PATH",
        ),
        ("http = 3\n", &[], "config key `http`"),
        ("[http\n", &[], "is not valid TOML"),
        (
            "",
            &[("TRYGG_HTTP__LISEN", "1")],
            "TRYGG_HTTP__LISEN: names no configuration key",
        ),
        (
            "",
            &[("TRYGG_NOPE__X", "1")],
            "TRYGG_NOPE__X: names no configuration key",
        ),
        (
            "",
            &[("TRYGG_HTTP__LISTEN", "here")],
            "TRYGG_HTTP__LISTEN: expected an address",
        ),
        (
            "",
            &[("TRYGG_AUDIT__CHECKPOINT_INTERVAL", "many")],
            "expected a whole number",
        ),
        (
            "",
            &[("TRYGG_HTTP__LISTEN_FILE", "/x")],
            "only secrets can be read from a file",
        ),
        (
            "",
            &[("TRYGG_VAULT__KEK", "a"), ("TRYGG_VAULT__KEK_ID", "bad id")],
            "`vault.kek_id`",
        ),
    ];
    for (text, vars, expected) in cases {
        let error = load_text(text, vars).expect_err(text).to_string();
        assert!(error.contains(expected), "{text:?} {vars:?}: got {error:?}");
        assert!(!error.contains('\n'), "one line: {error:?}");
    }
}

#[test]
fn secrets_come_from_files_and_are_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let url_file = write(
        dir.path(),
        "db-url",
        "postgres://trygg:hunter2-secret@db/trygg\n",
    );
    let kek_file = write(dir.path(), "kek", "c2VjcmV0LWtlay1ieXRlcw==\n");
    let text = format!(
        "[database]\nurl_file = {:?}\n",
        url_file.display().to_string()
    );
    let kek_var = kek_file.display().to_string();
    let config = load_text(&text, &[("TRYGG_VAULT__KEK_FILE", &kek_var)]).unwrap();
    assert_eq!(
        config.database_url(),
        "postgres://trygg:hunter2-secret@db/trygg"
    );
    assert_eq!(
        config.vault.kek.as_ref().unwrap().expose(),
        "c2VjcmV0LWtlay1ieXRlcw=="
    );

    let shown = format!("{config:?} {:?}", config.effective());
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("c2VjcmV0"), "{shown}");
    assert_eq!(config.effective()["database.url"], "(set)");
    assert_eq!(config.effective()["vault.key_file"], "(unset)");

    let both = format!(
        "[database]\nurl = \"sqlite:x\"\nurl_file = {:?}\n",
        url_file.display().to_string()
    );
    let error = load_text(&both, &[]).unwrap_err().to_string();
    assert!(error.contains("database.url_file"), "{error}");
    let missing = load_text("[database]\nurl_file = \"/nonexistent/x\"\n", &[]).unwrap_err();
    assert!(
        missing.to_string().contains("cannot read secret file"),
        "{missing}"
    );
}

#[test]
fn committed_example_is_current() {
    let committed = include_str!("../../../docs/trygg.example.toml");
    assert!(
        committed == example_toml(),
        "docs/trygg.example.toml is stale: run `cargo xtask config-example` and commit it"
    );
}

#[test]
fn example_loads_as_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "example.toml", &example_toml());
    let loaded = Config::load(Some(&path), Vec::new()).unwrap();
    assert_eq!(loaded.effective(), Config::default().effective());
}

#[test]
fn identity_providers_are_off_by_default_and_checked_when_set() {
    let config = Config::load(None, env(&[])).unwrap();
    assert!(config.staff_idp.issuer.is_none());
    assert!(config.customer_idp.issuer.is_none());

    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "secret", "s3cret\n");
    let config = load_text(
        &format!(
            "[staff_idp]\nissuer = \"https://idp.example.se\"\nclient_id = \"trygg\"\n\
             client_secret_file = \"{}\"\nrole_mapping = {{ \"g-adv\" = \"adviser\" }}\n",
            secret.display()
        ),
        &[
            ("TRYGG_STAFF_IDP__SCOPES", "openid, email"),
            ("TRYGG_STAFF_IDP__MFA_ACR_VALUES", "loa3"),
            (
                "TRYGG_CUSTOMER_IDP__ISSUER",
                "https://eid.example.se/broker",
            ),
            ("TRYGG_CUSTOMER_IDP__CLIENT_ID", "trygg-eid"),
            ("TRYGG_CUSTOMER_IDP__CLIENT_SECRET", "x"),
        ],
    )
    .unwrap();
    assert_eq!(
        config.staff_idp.client_secret.as_ref().unwrap().expose(),
        "s3cret"
    );
    assert_eq!(config.staff_idp.scopes, ["openid", "email"]);
    assert_eq!(config.staff_idp.mfa_acr_values, ["loa3"]);
    assert_eq!(config.staff_idp.role_mapping["g-adv"], "adviser");
    assert_eq!(
        config.effective()["staff_idp.client_secret"],
        "(set)",
        "never the secret itself"
    );

    type Case<'a> = (&'a str, &'a str);
    let cases: &[Case] = &[
        (
            "[staff_idp]\nissuer = \"http://idp.example.se\"\nclient_id = \"t\"\nclient_secret = \"s\"\n",
            "config key `staff_idp.issuer`: expected the provider's https:// issuer URL",
        ),
        (
            "[staff_idp]\nissuer = \"https://idp.example.se\"\nclient_secret = \"s\"\n",
            "config key `staff_idp.client_id`",
        ),
        (
            "[customer_idp]\nissuer = \"https://idp.example.se\"\nclient_id = \"t\"\n",
            "config key `customer_idp.client_secret`",
        ),
        (
            "[staff_idp]\nrole_mapping = { \"g\" = \"root\" }\n",
            "config key `staff_idp.role_mapping.g`: expected one of admin",
        ),
    ];
    for (text, expected) in cases {
        let error = load_text(text, &[]).unwrap_err().to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn smtp_is_off_by_default_and_plain_text_only_to_loopback() {
    let config = Config::load(None, env(&[])).unwrap();
    assert!(config.smtp.host.is_none());
    assert_eq!(
        config.smtp.tls,
        SmtpTls::Starttls,
        "STARTTLS, required, by default"
    );
    assert_eq!(config.smtp.effective_port(), 587);

    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "smtp-password", "p4ss\n");
    let config = load_text(
        &format!(
            "[smtp]\nhost = \"smtp.bank.example.se\"\nusername = \"trygg\"\n\
             password_file = \"{}\"\nfrom = \"moten@bank.example.se\"\n",
            secret.display()
        ),
        &[("TRYGG_SMTP__TLS", "tls")],
    )
    .unwrap();
    assert_eq!(config.smtp.tls, SmtpTls::Tls);
    assert_eq!(config.smtp.effective_port(), 465);
    assert_eq!(config.smtp.password.as_ref().unwrap().expose(), "p4ss");
    assert_eq!(config.effective()["smtp.password"], "(set)");
    assert!(!format!("{config:?}").contains("p4ss"));

    for host in ["localhost", "127.0.0.1", "127.0.0.53", "::1"] {
        let text =
            format!("[smtp]\nhost = \"{host}\"\nport = 2525\ntls = \"none\"\nfrom = \"a@b.se\"\n");
        let config = load_text(&text, &[]).unwrap();
        assert_eq!(config.smtp.effective_port(), 2525);
    }

    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "[smtp]\nhost = \"smtp.example.se\"\ntls = \"none\"\nfrom = \"a@b.se\"\n",
            &[],
            "config key `smtp.tls`: `none` sends mail in plain text",
        ),
        (
            "[smtp]\nhost = \"10.0.0.1\"\nfrom = \"a@b.se\"\n",
            &[("TRYGG_SMTP__TLS", "none")],
            "config key `smtp.tls`",
        ),
        (
            "[smtp]\nhost = \"smtp.example.se\"\ntls = \"plain\"\nfrom = \"a@b.se\"\n",
            &[],
            "config key `smtp.tls`",
        ),
        (
            "[smtp]\nhost = \"smtp.example.se\"\n",
            &[],
            "config key `smtp.from`",
        ),
        (
            "[smtp]\nhost = \"smtp.example.se\"\nfrom = \"not an address\"\n",
            &[],
            "config key `smtp.from`",
        ),
        (
            "[smtp]\nhost = \"smtp.example.se\"\nfrom = \"a@b.se\"\nusername = \"u\"\n",
            &[],
            "config key `smtp.password`",
        ),
        (
            "[smtp]\nhost = \"localhost\"\ntls = \"none\"\nfrom = \"a@b.se\"\nusername = \"u\"\npassword = \"p\"\n",
            &[],
            "config key `smtp.username`: credentials are only sent over TLS",
        ),
        (
            "[smtp]\nhost = \"smtp://mail.example.se\"\nfrom = \"a@b.se\"\n",
            &[],
            "config key `smtp.host`",
        ),
        (
            "[smtp]\nhost = \"smtp.example.se\"\nfrom = \"a@b.se\"\nport = 0\n",
            &[],
            "config key `smtp.port`",
        ),
    ];
    for (text, vars, expected) in cases {
        let error = load_text(text, vars).unwrap_err().to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
    let error = Config::load(None, env(&[("TRYGG_SMTP__TLS", "ssl")]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("expected `starttls`, `tls` or `none`"),
        "{error}"
    );
}

#[test]
fn turn_is_off_by_default_and_needs_its_secret_when_set() {
    let config = Config::load(None, env(&[])).unwrap();
    assert!(config.turn.urls.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "turn-secret", "s3cret-shared-with-coturn\n");
    let config = load_text(
        &format!(
            "[turn]\nurls = [\"turn:turn.bank.example.se:3478?transport=udp\"]\n\
             shared_secret_file = \"{}\"\n",
            secret.display()
        ),
        &[("TRYGG_TURN__CREDENTIAL_TTL_SECS", "7200")],
    )
    .unwrap();
    assert_eq!(config.turn.credential_ttl_secs, 7200);
    assert_eq!(
        config.turn.shared_secret.as_ref().unwrap().expose(),
        "s3cret-shared-with-coturn"
    );
    assert_eq!(config.effective()["turn.shared_secret"], "(set)");
    assert!(!format!("{config:?}").contains("s3cret"));

    for (text, expected) in [
        (
            "[turn]\nurls = [\"turn:t.example.se:3478\"]\n",
            "config key `turn.shared_secret`",
        ),
        (
            "[turn]\nurls = [\"https://t.example.se\"]\nshared_secret = \"x\"\n",
            "config key `turn.urls`",
        ),
        (
            "[turn]\nurls = [\"turn:t.example.se:3478\"]\nshared_secret = \"x\"\n\
             credential_ttl_secs = 10\n",
            "config key `turn.credential_ttl_secs`",
        ),
    ] {
        let error = load_text(text, &[]).unwrap_err().to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn the_media_relay_listens_on_loopback_unless_told_where_browsers_reach_it() {
    let config = Config::load(None, env(&[])).unwrap();
    let (bind, public) = config.media.addresses().unwrap();
    assert!(bind.ip().is_loopback());
    assert_eq!(bind.port(), 0);
    assert_eq!(public, bind.ip());

    let config = load_text(
        "[media]\nudp_listen = \"0.0.0.0:3479\"\npublic_ip = \"203.0.113.7\"\n",
        &[],
    )
    .unwrap();
    let (bind, public) = config.media.addresses().unwrap();
    assert_eq!(bind.port(), 3479);
    assert_eq!(public.to_string(), "203.0.113.7");

    for (text, expected) in [
        (
            "[media]\nudp_listen = \"0.0.0.0:3479\"\n",
            "config key `media.public_ip`",
        ),
        (
            "[media]\nudp_listen = \"relay:3479\"\n",
            "config key `media.udp_listen`",
        ),
        (
            "[media]\nudp_listen = \"0.0.0.0:3479\"\npublic_ip = \"0.0.0.0\"\n",
            "config key `media.public_ip`",
        ),
    ] {
        let error = load_text(text, &[]).unwrap_err().to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
}
