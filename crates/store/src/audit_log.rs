//! Persisting the audit chain: appending entries (inside the caller's transaction, so an entry
//! lands exactly when the change it records does), signing checkpoints at the configured
//! interval, group commit for events that record no other change, and reading the whole log back
//! for verification.
//!
//! The chain arithmetic and the verification live in the `audit` crate; this module only moves
//! rows. It never updates or deletes an audit row (the schema's triggers refuse it as well).

use std::collections::BTreeMap;
use std::sync::Arc;

use audit::{Checkpoint, CheckpointSigner, Entry, Event, Head, Outcome};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::{with_pool, with_tx, Store, StoreError, Tx};

/// Appends audit events. Holds the checkpoint signing key; cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditWriter {
    signer: Arc<CheckpointSigner>,
    checkpoint_interval: u64,
}

/// Everything stored about the audit trail, read in one consistent snapshot.
#[derive(Debug, Clone)]
pub struct AuditLogSnapshot {
    pub entries: Vec<Entry>,
    pub checkpoints: Vec<Checkpoint>,
    pub head: Head,
}

/// Rows inserted per `INSERT` statement; keeps statements well under both backends' limits on
/// bound parameters (SQLite: 32766, PostgreSQL: 65535) with nine columns per row.
const ROWS_PER_INSERT: usize = 500;

impl AuditWriter {
    pub fn new(signer: Arc<CheckpointSigner>, checkpoint_interval: u64) -> AuditWriter {
        AuditWriter {
            signer,
            checkpoint_interval: checkpoint_interval.max(1),
        }
    }

    /// The key that verifies this writer's checkpoints.
    pub fn public_key(&self) -> audit::PublicKey {
        self.signer.public_key()
    }

    /// Appends `events` in the caller's transaction and returns the new head. `now_ms` stamps a
    /// checkpoint if one falls due.
    pub async fn append(
        &self,
        tx: &mut Tx,
        events: Vec<Event>,
        now_ms: i64,
    ) -> Result<Head, StoreError> {
        if events.is_empty() {
            return lock_head(tx).await.map(|(head, _)| head);
        }
        let (head, last_checkpoint_seq) = lock_head(tx).await?;
        let (entries, new_head) = audit::chain(head, events);
        for chunk in entries.chunks(ROWS_PER_INSERT) {
            insert_entries(tx, chunk).await?;
        }
        let mut checkpoint_seq = last_checkpoint_seq;
        if new_head.seq - last_checkpoint_seq >= self.checkpoint_interval {
            let checkpoint = self.signer.sign(new_head, now_ms);
            insert_checkpoint(tx, &checkpoint).await?;
            checkpoint_seq = new_head.seq;
        }
        let seq = to_i64(new_head.seq)?;
        let checkpoint_seq = to_i64(checkpoint_seq)?;
        with_tx!(tx, |conn, Db| {
            sqlx::query(
                "UPDATE audit_head SET seq = $1, hash = $2, last_checkpoint_seq = $3 WHERE id = 1",
            )
            .bind(seq)
            .bind(new_head.hash.to_vec())
            .bind(checkpoint_seq)
            .execute(&mut *conn)
            .await?;
        });
        Ok(new_head)
    }

    /// Signs a checkpoint at the current head even if the interval has not passed (at shutdown,
    /// and before an export, so the newest entries are covered too).
    pub async fn checkpoint_now(&self, tx: &mut Tx, now_ms: i64) -> Result<Head, StoreError> {
        let (head, last_checkpoint_seq) = lock_head(tx).await?;
        if head.seq == 0 || head.seq == last_checkpoint_seq {
            return Ok(head);
        }
        insert_checkpoint(tx, &self.signer.sign(head, now_ms)).await?;
        let seq = to_i64(head.seq)?;
        with_tx!(tx, |conn, Db| {
            sqlx::query("UPDATE audit_head SET last_checkpoint_seq = $1 WHERE id = 1")
                .bind(seq)
                .execute(&mut *conn)
                .await?;
        });
        Ok(head)
    }
}

/// Group commit for events that record no other change (sign-in failures, start-up): callers
/// queue events and wait; one task writes everything queued in a single transaction, so many
/// concurrent events cost one durable commit.
#[derive(Clone, Debug)]
pub struct GroupCommitter {
    queue: mpsc::Sender<(Event, oneshot::Sender<Result<(), String>>)>,
}

/// Events written per transaction at most.
const GROUP_COMMIT_MAX: usize = 2048;

impl GroupCommitter {
    /// Starts the writing task. `clock` gives the current unix time in milliseconds.
    pub fn spawn(store: Store, writer: AuditWriter, clock: fn() -> i64) -> GroupCommitter {
        let (queue, mut receiver) =
            mpsc::channel::<(Event, oneshot::Sender<Result<(), String>>)>(GROUP_COMMIT_MAX * 4);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(GROUP_COMMIT_MAX);
            while receiver.recv_many(&mut batch, GROUP_COMMIT_MAX).await > 0 {
                let (events, waiters): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                let result = write_batch(&store, &writer, events, clock()).await;
                let reply = result.map_err(|error| error.to_string());
                if let Err(error) = &reply {
                    tracing::error!(%error, "audit group commit failed");
                }
                for waiter in waiters {
                    // A caller that stopped waiting does not need the answer.
                    let _ = waiter.send(reply.clone());
                }
            }
        });
        GroupCommitter { queue }
    }

    /// Queues `event` and returns once it is durably committed.
    pub async fn record(&self, event: Event) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Inconsistent("the audit writer has stopped".into());
        self.queue
            .send((event, reply))
            .await
            .map_err(|_| closed())?;
        answer
            .await
            .map_err(|_| closed())?
            .map_err(StoreError::Inconsistent)
    }
}

async fn write_batch(
    store: &Store,
    writer: &AuditWriter,
    events: Vec<Event>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    writer.append(&mut tx, events, now_ms).await?;
    tx.commit().await
}

impl Store {
    /// Reads the whole audit log, its checkpoints and its recorded head in one transaction.
    pub async fn audit_snapshot(&self) -> Result<AuditLogSnapshot, StoreError> {
        let mut tx = self.begin().await?;
        let rows = with_tx!(tx, |conn, Db| {
            sqlx::query(
                "SELECT seq, at_ms, actor, action, target, outcome, details, prev_hash, hash \
                 FROM audit_log ORDER BY seq",
            )
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| {
                Ok::<_, StoreError>(Entry {
                    seq: to_u64(row.try_get("seq")?)?,
                    prev_hash: to_hash(row.try_get("prev_hash")?)?,
                    hash: to_hash(row.try_get("hash")?)?,
                    event: Event {
                        at_ms: row.try_get("at_ms")?,
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        target: row.try_get("target")?,
                        outcome: parse_outcome(row.try_get("outcome")?)?,
                        details: parse_details(row.try_get("details")?)?,
                    },
                })
            })
            .collect::<Result<Vec<_>, _>>()?
        });
        let checkpoints = with_tx!(tx, |conn, Db| {
            sqlx::query(
                "SELECT seq, hash, signed_at_ms, signature FROM audit_checkpoints ORDER BY seq",
            )
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| {
                let signature: Vec<u8> = row.try_get("signature")?;
                Ok::<_, StoreError>(Checkpoint {
                    seq: to_u64(row.try_get("seq")?)?,
                    hash: to_hash(row.try_get("hash")?)?,
                    signed_at_ms: row.try_get("signed_at_ms")?,
                    signature: signature.try_into().map_err(|_| {
                        StoreError::Inconsistent("a checkpoint signature is not 64 bytes".into())
                    })?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
        });
        let head = with_tx!(tx, |conn, Db| {
            let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?;
            Head {
                seq: to_u64(row.try_get("seq")?)?,
                hash: to_hash(row.try_get("hash")?)?,
            }
        });
        tx.rollback().await?;
        Ok(AuditLogSnapshot {
            entries: rows,
            checkpoints,
            head,
        })
    }

    /// The number of audit entries (for metrics).
    pub async fn audit_len(&self) -> Result<u64, StoreError> {
        let seq: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        to_u64(seq)
    }
}

/// Takes the write lock on the chain (the first statement of the append writes the head row) and
/// reads the head and the last checkpoint.
async fn lock_head(tx: &mut Tx) -> Result<(Head, u64), StoreError> {
    let row = with_tx!(tx, |conn, Db| {
        let row = sqlx::query(
            "UPDATE audit_head SET seq = seq WHERE id = 1 \
             RETURNING seq, hash, last_checkpoint_seq",
        )
        .fetch_one(&mut *conn)
        .await?;
        (
            row.try_get::<i64, _>("seq")?,
            row.try_get::<Vec<u8>, _>("hash")?,
            row.try_get::<i64, _>("last_checkpoint_seq")?,
        )
    });
    let (seq, hash, last_checkpoint_seq) = row;
    Ok((
        Head {
            seq: to_u64(seq)?,
            hash: to_hash(hash)?,
        },
        to_u64(last_checkpoint_seq)?,
    ))
}

async fn insert_entries(tx: &mut Tx, entries: &[Entry]) -> Result<(), StoreError> {
    let rows = entries
        .iter()
        .map(|entry| {
            Ok((
                to_i64(entry.seq)?,
                entry,
                serde_json::to_string(&entry.event.details)
                    .map_err(|error| StoreError::Inconsistent(error.to_string()))?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    with_tx!(tx, |conn, Db| {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO audit_log \
             (seq, at_ms, actor, action, target, outcome, details, prev_hash, hash) ",
        );
        insert.push_values(&rows, |mut row, (seq, entry, details)| {
            row.push_bind(*seq)
                .push_bind(entry.event.at_ms)
                .push_bind(entry.event.actor.as_str())
                .push_bind(entry.event.action.as_str())
                .push_bind(entry.event.target.as_deref())
                .push_bind(entry.event.outcome.as_str())
                .push_bind(details.as_str())
                .push_bind(entry.prev_hash.as_slice())
                .push_bind(entry.hash.as_slice());
        });
        insert.build().execute(&mut *conn).await?;
    });
    Ok(())
}

async fn insert_checkpoint(tx: &mut Tx, checkpoint: &Checkpoint) -> Result<(), StoreError> {
    let seq = to_i64(checkpoint.seq)?;
    with_tx!(tx, |conn, Db| {
        sqlx::query(
            "INSERT INTO audit_checkpoints (seq, hash, signed_at_ms, signature) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(seq)
        .bind(checkpoint.hash.to_vec())
        .bind(checkpoint.signed_at_ms)
        .bind(checkpoint.signature.to_vec())
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Inconsistent("audit sequence overflow".into()))
}

fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value)
        .map_err(|_| StoreError::Inconsistent("a negative audit sequence number".into()))
}

fn to_hash(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Inconsistent("an audit hash is not 32 bytes".into()))
}

fn parse_outcome(text: String) -> Result<Outcome, StoreError> {
    Outcome::parse(&text)
        .ok_or_else(|| StoreError::Inconsistent(format!("unknown audit outcome {text:?}")))
}

/// Details that do not parse were altered outside Trygg; they are kept as they are so the hash
/// check reports the entry as modified instead of the read failing.
fn parse_details(text: String) -> Result<BTreeMap<String, String>, StoreError> {
    Ok(serde_json::from_str(&text)
        .unwrap_or_else(|_| BTreeMap::from([("(unparseable)".to_owned(), text)])))
}
