//! The audit log's integrity: the audit key (a random key of its own, wrapped by the master key
//! like the data keys, so a master-key rotation rewraps it and old events still verify), loaded
//! at start-up, and the walk that verifies the whole chain.

use crate::server::{
    crypto::DataKey,
    db::{
        self,
        audit_chain::{ChainBreak, Walk},
        Db,
    },
    keys::Keyring,
};

/// The audit key's purpose in `wrapped_keys`.
pub const PURPOSE: &str = "audit";

/// How many events the verifier reads per query.
const PAGE: i64 = 10_000;

/// Loads the audit key, making it (and sealing the events written before the chain existed) on
/// the first start if `begin` allows. Refuses a database whose chain has begun but whose key is
/// gone.
pub async fn open(db: &Db, keyring: &Keyring, begin: db::audit::Begin) -> Result<(), String> {
    let unwrap = |wrapped: &[u8], key_id: &str| {
        let kek = keyring.get(key_id).ok_or_else(|| {
            format!(
                "the audit key is wrapped by master key {key_id}, which this server does not hold"
            )
        })?;
        kek.unwrap_purpose_key(wrapped, PURPOSE)
            .map_err(|e| format!("cannot unwrap the audit key: {e}"))
    };
    let make = || {
        let key = DataKey::generate();
        let kek = keyring.active();
        let wrapped = kek.wrap_purpose_key(&key, PURPOSE);
        (key, wrapped, kek.id().to_string())
    };
    match db::audit::start_chain(db, unwrap, make, PURPOSE, begin, db::now_ms()).await? {
        db::audit::Started::Existing => {}
        db::audit::Started::Began { sealed } => {
            tracing::info!(sealed, "the audit log is now a hash chain");
        }
    }
    Ok(())
}

pub use crate::model::audit::ChainVerdict as Verdict;

/// Walks every event from the oldest and checks it against the one before and, at the end,
/// against the head.
pub async fn verify(db: &Db) -> Result<Verdict, sqlx::Error> {
    let key = db.audit.key()?;
    let mut walk = Walk::new(key);
    let mut after = 0;
    let broken = loop {
        let page = db::audit::chain_page(db, after, PAGE).await?;
        let Some(last) = page.last() else {
            break None;
        };
        after = last.seq;
        if let Some(err) = page.iter().find_map(|row| walk.next(row).err()) {
            break Some(err);
        }
    };
    let verified = walk.checked();
    let began = walk.began().cloned();
    let broken = match broken {
        Some(err) => Some(err),
        None => match db::audit::first_outside_chain(db).await? {
            Some(id) => Some(ChainBreak {
                seq: verified + 1,
                id: Some(id),
                problem: format!(
                    "event id {id} is not in the chain: it was written behind Lockbox's back"
                ),
            }),
            None => walk.finish(&db::audit::head(db).await?).err(),
        },
    };
    Ok(Verdict {
        verified,
        broken,
        began,
    })
}

/// How many events a viewer page shows.
pub const PAGE_SIZE: i64 = 50;

/// A page of events matching the query line `q`, newest first, older than the cursor `before`.
/// A query that does not parse is refused on the field `q`, naming the term.
pub async fn page(
    db: &Db,
    q: &str,
    before: Option<i64>,
) -> Result<crate::model::audit::AuditPage, crate::model::AppError> {
    let query = crate::model::audit_query::AuditQuery::parse(q).map_err(|e| {
        crate::model::AppError::field(
            "q",
            crate::model::RuleError::new(crate::model::Code::InvalidQuery, e.0),
        )
    })?;
    let mut events = db::audit::search(db, &query, before, PAGE_SIZE + 1)
        .await
        .map_err(|e| crate::server::error::internal("listing audit events", e))?;
    let next = (events.len() as i64 > PAGE_SIZE).then(|| {
        events.truncate(PAGE_SIZE as usize);
        events.last().map(|e| e.seq)
    });
    Ok(crate::model::audit::AuditPage {
        events,
        next: next.flatten(),
    })
}
