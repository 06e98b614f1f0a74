//! The demonstration organisation that `trygg demo` seeds, so a newcomer can try every flow, and
//! reading the organisation's name back for the web client.
//!
//! The organisation's name is stored encrypted under the organisation's own data key, bound to
//! its row, like every other organisation-wide value.

use anyhow::Context as _;
use audit::{Event, Outcome};
use store::{AuditWriter, OrganisationRow, Store};

use crate::clock::now_ms;
use crate::keys::{open_value, seal, KeyService};

pub const DEMO_ORGANISATION: &str = "Demo Bank AB";
const SEEDED: &str = "demo.seeded";

/// Creates the demo organisation unless it exists; everything in one transaction with its audit
/// entries.
pub async fn seed(store: &Store, keys: &KeyService, audit: &AuditWriter) -> anyhow::Result<()> {
    if store.setting(SEEDED).await?.is_some() {
        return Ok(());
    }
    let now = now_ms();
    let random: [u8; 16] = vault::random_bytes();
    let organisation_id = hex::encode(random);
    let key_ref = organisation_key_ref(&organisation_id);
    let mut tx = store.begin().await?;
    let key = keys.create(&mut tx, &key_ref).await?;
    let name_enc = seal(
        &key,
        "organisations",
        "name",
        &organisation_id,
        DEMO_ORGANISATION.as_bytes(),
    );
    tx.insert_organisation(&OrganisationRow {
        id: organisation_id.clone(),
        name_enc,
        created_at_ms: now,
    })
    .await?;
    tx.set_setting(SEEDED, &organisation_id, now).await?;
    let events = vec![
        Event::new(now, "system", "keys.data_key_created", Outcome::Success).target(key_ref),
        Event::new(now, "system", "organisation.created", Outcome::Success)
            .target(format!("org:{organisation_id}"))
            .detail("seed", "demo"),
    ];
    audit.append(&mut tx, events, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The first organisation's name, decrypted; `None` before one is set up.
pub async fn organisation_name(store: &Store, keys: &KeyService) -> anyhow::Result<Option<String>> {
    let Some(row) = store.organisations().await?.into_iter().next() else {
        return Ok(None);
    };
    let key_ref = organisation_key_ref(&row.id);
    let Some(key) = keys.open(store, &key_ref).await? else {
        return Ok(None);
    };
    let name = open_value(&key, "organisations", "name", &row.id, &row.name_enc)
        .context("the organisation's name does not decrypt")?;
    Ok(Some(String::from_utf8_lossy(&name).into_owned()))
}

pub fn organisation_key_ref(organisation_id: &str) -> String {
    format!("org:{organisation_id}")
}
