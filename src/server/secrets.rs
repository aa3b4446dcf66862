//! The secrets service: validate, encrypt, store and audit. Plaintext is held only in zeroizing
//! types and only for as long as a request needs it.

use crate::{
    model::{
        AppError, Code, Description, FieldError, RuleError, SecretMeta, SecretName, SecretValue,
    },
    server::{
        auth::session::AuthUser,
        crypto::{self, DataKey},
        db::{self, audit::AuditEvent, secrets::InsertOutcome, users::UserRow},
        error::internal,
        state::AppState,
    },
};

/// Who is acting, for the audit trail.
pub struct Actor {
    pub user: AuthUser,
    pub client: Option<String>,
}

impl Actor {
    pub fn event<'e>(&'e self, action: &'e str, target: &'e str) -> AuditEvent<'e> {
        AuditEvent {
            at: db::now_ms(),
            actor_id: Some(&self.user.id),
            actor_name: Some(&self.user.username),
            action,
            target: Some(target),
            client_addr: self.client.clone(),
            ..Default::default()
        }
    }
}

fn parse_name(raw: &str) -> Result<SecretName, AppError> {
    SecretName::parse(raw).map_err(|m| AppError::field("name", m))
}

/// Unwraps the user's data key with the KEK that wrapped it.
pub async fn data_key(state: &AppState, user_id: &str) -> Result<DataKey, AppError> {
    let row: UserRow = db::users::by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let keyring = state.keyring.current();
    let kek = keyring.get(&row.dek_key_id).ok_or_else(|| {
        internal(
            "data key wrapped by a key this server does not hold",
            &row.dek_key_id,
        )
    })?;
    kek.unwrap(&row.dek_wrapped, user_id)
        .map_err(|e| internal("cannot unwrap a user's data key", e))
}

pub async fn list(state: &AppState, user: &AuthUser) -> Result<Vec<SecretMeta>, AppError> {
    Ok(db::secrets::list(&state.db, &user.id).await?)
}

#[tracing::instrument(name = "create_secret", skip_all, fields(user = %actor.user.id))]
pub async fn create(
    state: &AppState,
    actor: &Actor,
    name: &str,
    value: SecretValue,
    description: &str,
) -> Result<SecretMeta, AppError> {
    let limits = state.limits();
    let mut errors = Vec::new();
    let name = SecretName::parse(name).map_err(|m| errors.push(FieldError::new("name", m)));
    if let Err(m) = value.check(limits.max_value_bytes) {
        errors.push(FieldError::new("value", m));
    }
    if let Err(m) = Description::check(description) {
        errors.push(FieldError::new("description", m));
    }
    let name = match name {
        Ok(name) if errors.is_empty() => name,
        _ => return Err(AppError::fields(errors)),
    };

    let user_id = &actor.user.id;
    let id = uuid::Uuid::new_v4().to_string();
    let size = value.len() as i64;
    let sealed = data_key(state, user_id)
        .await?
        .seal(value.expose().as_bytes(), &crypto::secret_aad(user_id, &id));
    drop(value);
    let key = name.key();
    let now = db::now_ms();
    let outcome = db::secrets::insert(
        &state.db,
        &db::secrets::NewSecret {
            id: &id,
            user_id,
            name: name.as_str(),
            name_key: &key,
            description,
            value_sealed: &sealed,
            value_size: size,
            now,
        },
        limits.max_secrets_per_user,
        &actor.event("secret.created", name.as_str()),
    )
    .await?;
    match outcome {
        InsertOutcome::Created => {
            // Exactly what was inserted; no need to read it back.
            Ok(SecretMeta {
                name: name.as_str().to_string(),
                description: description.to_string(),
                created_at: now,
                updated_at: now,
                last_used_at: None,
            })
        }
        InsertOutcome::NameTaken => Err(AppError::Conflict {
            field: "name".into(),
            message: format!(
                "You already have a secret named {name} (names are unique ignoring case). \
                 Replace its value or delete it first."
            ),
        }),
        // As when the data key was looked up without the account: it is gone.
        InsertOutcome::UserGone => Err(AppError::Unauthorized),
        InsertOutcome::LimitReached => Err(AppError::field(
            "name",
            RuleError::new(
                Code::LimitExceeded,
                format!(
                    "You already have {} secrets, the most allowed. Delete one before adding \
                     another.",
                    limits.max_secrets_per_user
                ),
            ),
        )),
    }
}

fn no_such_secret(name: &SecretName) -> AppError {
    AppError::not_found(format!("You have no secret named {name}."))
}

#[tracing::instrument(name = "replace_secret", skip_all, fields(user = %actor.user.id))]
pub async fn replace(
    state: &AppState,
    actor: &Actor,
    name: &str,
    value: SecretValue,
) -> Result<SecretMeta, AppError> {
    let name = parse_name(name)?;
    value
        .check(state.limits().max_value_bytes)
        .map_err(|m| AppError::field("value", m))?;
    let user_id = &actor.user.id;
    let key = name.key();
    let id = db::secrets::id_of(&state.db, user_id, &key)
        .await?
        .ok_or_else(|| no_such_secret(&name))?;
    let size = value.len() as i64;
    let sealed = data_key(state, user_id)
        .await?
        .seal(value.expose().as_bytes(), &crypto::secret_aad(user_id, &id));
    drop(value);
    let event = actor.event("secret.replaced", name.as_str());
    if !db::secrets::replace(&state.db, user_id, &id, &sealed, size, db::now_ms(), &event).await? {
        return Err(no_such_secret(&name));
    }
    db::secrets::meta(&state.db, user_id, &key)
        .await?
        .ok_or_else(|| no_such_secret(&name))
}

#[tracing::instrument(name = "delete_secret", skip_all, fields(user = %actor.user.id))]
pub async fn delete(state: &AppState, actor: &Actor, name: &str) -> Result<(), AppError> {
    let name = parse_name(name)?;
    let event = actor.event("secret.deleted", name.as_str());
    if db::secrets::delete(&state.db, &actor.user.id, &name.key(), &event).await? {
        Ok(())
    } else {
        Err(no_such_secret(&name))
    }
}
