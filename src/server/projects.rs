//! The projects service: create and delete projects (preparing and removing their namespaces
//! through the session backend), manage their members, and decide which project a launch goes
//! to. The admin API and `lockbox projects …` both call it. Every change is audited in the
//! transaction that makes it.

use crate::{
    model::{
        projects::{
            self as rules, LaunchAccess, ProjectCreated, ProjectDetail, ProjectInfo, ProjectMember,
        },
        AppError, Code, FieldError, RuleError, Username,
    },
    server::{
        auth::session::AuthUser,
        config::Config,
        db::{
            self,
            audit::AuditEvent,
            projects::{Deleted, NewProject, ProjectRow},
            Db,
        },
        secrets::Actor,
        sessions::backend::{BackendError, ProjectNamespace, SessionBackend},
        state::AppState,
    },
};

/// The namespace of a project: the configured one (`LOCKBOX_KUBE_NAMESPACE`) for the default
/// project, else the one recorded when it was created (`<prefix><name>` at the time, so a later
/// change of prefix does not move existing projects). The one place that decides it.
pub fn namespace_of(default_namespace: &str, prefix: &str, project: &ProjectRow) -> String {
    if project.is_default {
        return default_namespace.to_string();
    }
    project
        .namespace
        .clone()
        .unwrap_or_else(|| rules::namespace(prefix, &project.name))
}

/// Every namespace sessions may be in: the default project's and every other project's.
pub async fn all_namespaces(db: &Db, default_namespace: &str) -> Result<Vec<String>, AppError> {
    let mut all = vec![default_namespace.to_string()];
    for ns in db::projects::namespaces(db).await? {
        if !all.contains(&ns) {
            all.push(ns);
        }
    }
    Ok(all)
}

/// Who changes projects: a signed-in admin over the API, or the operator on the server's host
/// (`lockbox projects …`, which has the database and the keys already).
pub enum By<'a> {
    User(&'a Actor),
    CommandLine,
}

/// The name audit records give the command line as the actor.
pub const COMMAND_LINE: &str = "command line";

impl By<'_> {
    pub(crate) fn event<'e>(
        &'e self,
        action: &'e str,
        target: &'e str,
        detail: &'e str,
    ) -> AuditEvent<'e> {
        let (actor_id, actor_name, client_addr) = match self {
            By::User(a) => (
                Some(a.user.id.as_str()),
                Some(a.user.username.as_str()),
                a.client.clone(),
            ),
            By::CommandLine => (None, Some(COMMAND_LINE), None),
        };
        AuditEvent {
            at: db::now_ms(),
            actor_id,
            actor_name,
            action,
            target: Some(target),
            detail: Some(detail),
            client_addr,
            session_id: None,
        }
    }

    /// Only admins manage projects (the API checks first; this is the service's own guard).
    pub(crate) fn check(&self) -> Result<(), AppError> {
        match self {
            By::User(a) if !a.user.is_admin => Err(admins_only()),
            _ => Ok(()),
        }
    }
}

pub fn admins_only() -> AppError {
    AppError::forbidden("Only admins may do this.")
}

/// What the projects service needs: the database, the backend that prepares namespaces, and
/// the namespace settings.
pub struct Projects<'a> {
    pub db: &'a Db,
    pub backend: &'a dyn SessionBackend,
    pub config: &'a Config,
}

impl<'a> Projects<'a> {
    pub fn of(state: &'a AppState) -> Self {
        Self {
            db: &state.db,
            backend: state.backend.as_ref(),
            config: &state.config,
        }
    }

    fn namespace(&self, project: &ProjectRow) -> String {
        namespace_of(
            &self.config.kube_namespace,
            &self.config.project_namespace_prefix,
            project,
        )
    }

    fn detail(&self, p: ProjectRow, members: i64, live_sessions: i64) -> ProjectDetail {
        ProjectDetail {
            namespace: self.namespace(&p),
            name: p.name,
            description: p.description,
            is_default: p.is_default,
            namespace_created: p.namespace_created,
            members,
            live_sessions,
            created_at: p.created_at,
        }
    }

    /// Every project, with its namespace and counts (admins).
    pub async fn list(&self) -> Result<Vec<ProjectDetail>, AppError> {
        Ok(db::projects::list(self.db)
            .await?
            .into_iter()
            .map(|l| self.detail(l.project, l.members, l.live_sessions))
            .collect())
    }

    /// The project of that name, or 404.
    async fn existing(&self, name: &str) -> Result<ProjectRow, AppError> {
        db::projects::get(self.db, name.trim())
            .await?
            .ok_or_else(|| AppError::not_found(rules::unknown_message(name.trim())))
    }

    /// Creates a project: checks its name and description, prepares its namespace (created,
    /// or an existing one adopted) and records it. Returns the backend's warnings with it.
    pub async fn create(
        &self,
        by: &By<'_>,
        name: &str,
        description: &str,
    ) -> Result<ProjectCreated, AppError> {
        by.check()?;
        let name = name.trim();
        let description = description.trim();
        let prefix = &self.config.project_namespace_prefix;
        let namespace = rules::namespace(prefix, name);
        let mut errors = Vec::new();
        match rules::name(prefix, name) {
            Err(m) => errors.push(FieldError::new("name", m)),
            Ok(()) => {
                if let Err(m) = rules::namespace_free(
                    &namespace,
                    &self.config.kube_namespace,
                    &self.config.system_namespace,
                ) {
                    errors.push(FieldError::new("name", m));
                }
            }
        }
        if let Err(m) = rules::description(description) {
            errors.push(FieldError::new("description", m));
        }
        if !errors.is_empty() {
            return Err(AppError::fields(errors));
        }
        let taken = || AppError::Conflict {
            field: "name".into(),
            message: format!("A project named {name} already exists."),
        };
        if db::projects::get(self.db, name).await?.is_some() {
            return Err(taken());
        }
        let target = ProjectNamespace {
            project: name.to_string(),
            namespace: namespace.clone(),
        };
        let prepared = self
            .backend
            .prepare_project(&target)
            .await
            .map_err(|e| backend_error("preparing a project's namespace", e))?;
        let how = if prepared.created {
            "created"
        } else {
            "adopted"
        };
        let detail = format!("namespace {namespace} ({how})");
        let event = by.event("project.created", name, &detail);
        let new = NewProject {
            name,
            description,
            namespace: &namespace,
            namespace_created: prepared.created,
            now: db::now_ms(),
        };
        match db::projects::insert(self.db, &new, &event).await {
            Ok(true) => {}
            // Another admin created it meanwhile: the namespace is theirs now, left as it is.
            Ok(false) => return Err(taken()),
            Err(e) => {
                // Nothing records the namespace: undo what preparing it did.
                if let Err(undo) = self.backend.remove_project(&target, prepared.created).await {
                    tracing::error!(error = %undo, %namespace,
                        "removing a namespace prepared for a project that could not be recorded failed");
                }
                return Err(e.into());
            }
        }
        tracing::info!(project = %name, %namespace, how, "project created");
        let project = self.existing(name).await?;
        Ok(ProjectCreated {
            project: self.detail(project, 0, 0),
            warnings: prepared.warnings,
        })
    }

    /// Deletes a project: refused for the default project and while any of its sessions is
    /// live; otherwise removes its namespace (only if Lockbox created it; else only Lockbox's
    /// objects in it) and then its record.
    pub async fn delete(&self, by: &By<'_>, name: &str) -> Result<(), AppError> {
        by.check()?;
        let project = self.existing(name).await?;
        if project.is_default {
            return Err(AppError::field(
                "name",
                RuleError::new(
                    Code::ReservedName,
                    "The default project cannot be deleted: every user may use it.",
                ),
            ));
        }
        let live = db::projects::count_live(self.db, &project.name).await?;
        if live > 0 {
            return Err(live_sessions(&project.name, live));
        }
        let namespace = self.namespace(&project);
        self.backend
            .remove_project(
                &ProjectNamespace {
                    project: project.name.clone(),
                    namespace: namespace.clone(),
                },
                project.namespace_created,
            )
            .await
            .map_err(|e| backend_error("removing a project's namespace", e))?;
        let how = if project.namespace_created {
            "deleted"
        } else {
            "left in place, Lockbox's objects removed"
        };
        let detail = format!("namespace {namespace} ({how})");
        let event = by.event("project.deleted", &project.name, &detail);
        match db::projects::delete(self.db, &project.name, &event).await? {
            Deleted::Yes => {
                tracing::info!(project = %project.name, %namespace, "project deleted");
                Ok(())
            }
            // A launch got in between the check and the delete (its session may fail, the
            // namespace being gone): the project stays, and deleting it again works once that
            // session is stopped.
            Deleted::Live(n) => Err(live_sessions(&project.name, n)),
            Deleted::NotFound => Err(AppError::not_found(rules::unknown_message(&project.name))),
        }
    }

    /// The project's members (the default project has none: everyone may use it).
    pub async fn members(&self, name: &str) -> Result<Vec<ProjectMember>, AppError> {
        let project = self.existing(name).await?;
        Ok(db::projects::members(self.db, &project.id)
            .await?
            .into_iter()
            .map(|m| ProjectMember {
                username: m.username,
                added_at: m.added_at,
            })
            .collect())
    }

    /// The project (not the default one) and the account named, for a change of members.
    async fn project_and_user(
        &self,
        name: &str,
        username: &str,
    ) -> Result<(ProjectRow, db::users::UserRow), AppError> {
        let project = self.existing(name).await?;
        if project.is_default {
            return Err(AppError::field(
                "name",
                RuleError::new(
                    Code::ReservedName,
                    "Every user may use the default project; it has no members to add or remove.",
                ),
            ));
        }
        let username = username.trim();
        let key = Username::parse(username)
            .map_err(|m| AppError::field("username", m))?
            .key();
        let user = db::users::by_username_key(self.db, &key)
            .await?
            .ok_or_else(|| {
                AppError::field(
                    "username",
                    RuleError::new(
                        Code::Unknown,
                        format!("There is no user named {username:?}."),
                    ),
                )
            })?;
        Ok((project, user))
    }

    pub async fn add_member(
        &self,
        by: &By<'_>,
        name: &str,
        username: &str,
    ) -> Result<ProjectMember, AppError> {
        by.check()?;
        let (project, user) = self.project_and_user(name, username).await?;
        let detail = format!("member {}", user.username);
        let event = by.event("project.member_added", &project.name, &detail);
        let now = db::now_ms();
        if !db::projects::add_member(self.db, &project.id, &user.id, now, &event).await? {
            return Err(AppError::Conflict {
                field: "username".into(),
                message: format!("{} is already a member of {}.", user.username, project.name),
            });
        }
        Ok(ProjectMember {
            username: user.username,
            added_at: now,
        })
    }

    /// Removes a member. Their sessions already running keep running; they cannot launch
    /// into the project again.
    pub async fn remove_member(
        &self,
        by: &By<'_>,
        name: &str,
        username: &str,
    ) -> Result<(), AppError> {
        by.check()?;
        let (project, user) = self.project_and_user(name, username).await?;
        let detail = format!("member {}", user.username);
        let event = by.event("project.member_removed", &project.name, &detail);
        if !db::projects::remove_member(self.db, &project.id, &user.id, &event).await? {
            return Err(AppError::field(
                "username",
                RuleError::new(
                    Code::Unknown,
                    format!("{} is not a member of {}.", user.username, project.name),
                ),
            ));
        }
        Ok(())
    }
}

fn live_sessions(name: &str, live: i64) -> AppError {
    let sessions = if live == 1 { "session" } else { "sessions" };
    AppError::Conflict {
        field: "name".into(),
        message: format!(
            "The project {name} has {live} live {sessions} (starting or running). Stop them \
             before deleting it."
        ),
    }
}

fn backend_error(what: &str, e: BackendError) -> AppError {
    match e {
        BackendError::Rejected(m) => AppError::Conflict {
            field: "name".into(),
            message: m,
        },
        BackendError::Invalid(fields) => AppError::fields(fields),
        BackendError::Internal(m) => crate::server::error::internal(what, m),
    }
}

/// The projects a user may use, as the launch form offers them (the default one first).
pub async fn usable(db: &Db, user: &AuthUser) -> Result<Vec<ProjectInfo>, AppError> {
    Ok(db::projects::usable_by(db, &user.id)
        .await?
        .into_iter()
        .map(|p| ProjectInfo {
            name: p.name,
            description: p.description,
            is_default: p.is_default,
        })
        .collect())
}

/// The project a launch goes to, and its namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchProject {
    pub name: String,
    pub namespace: String,
}

/// Decides the project of a launch before anything else is looked at: the one named (the
/// default one when none is) if the user may use it. A refusal is 403 with one message whether
/// or not the project exists, so launching tells a non-member nothing about it; an admin is
/// told a project does not exist (`Ok(None)`, the launch rules' field error), since admins can
/// list every project anyway.
pub async fn for_launch(
    db: &Db,
    config: &Config,
    user: &AuthUser,
    raw: &str,
) -> Result<Option<LaunchProject>, AppError> {
    let name = rules::chosen(raw);
    let project = db::projects::get(db, name).await?;
    let may_use = match &project {
        Some(p) => Some(db::projects::may_use(db, &user.id, p).await?),
        None => None,
    };
    match (rules::launch_access(may_use, user.is_admin), project) {
        (LaunchAccess::Allowed, Some(p)) => Ok(Some(LaunchProject {
            namespace: namespace_of(&config.kube_namespace, &config.project_namespace_prefix, &p),
            name: p.name,
        })),
        (LaunchAccess::Unknown, _) => Ok(None),
        _ => Err(AppError::forbidden(rules::refused_message(name))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, is_default: bool, namespace: Option<&str>) -> ProjectRow {
        ProjectRow {
            id: "id".into(),
            name: name.into(),
            description: String::new(),
            is_default,
            namespace: namespace.map(Into::into),
            namespace_created: false,
            created_at: 0,
        }
    }

    #[test]
    fn the_default_project_has_the_configured_namespace() {
        let d = row(rules::DEFAULT_PROJECT, true, None);
        assert_eq!(namespace_of("sessions", "lockbox-", &d), "sessions");
    }

    #[test]
    fn a_project_keeps_the_namespace_it_was_created_with() {
        let p = row("ml", false, Some("runai-ml"));
        assert_eq!(namespace_of("sessions", "lockbox-", &p), "runai-ml");
        let p = row("ml", false, None);
        assert_eq!(namespace_of("sessions", "lockbox-", &p), "lockbox-ml");
    }

    #[test]
    fn command_line_changes_are_audited_as_such() {
        let by = By::CommandLine;
        let e = by.event("project.created", "ml", "namespace lockbox-ml (created)");
        assert_eq!(e.actor_id, None);
        assert_eq!(e.actor_name, Some(COMMAND_LINE));
        assert_eq!(e.target, Some("ml"));
        assert!(by.check().is_ok());
        let actor = Actor {
            user: AuthUser {
                id: "u".into(),
                username: "bob".into(),
                is_admin: false,
                must_change_password: false,
            },
            client: None,
        };
        assert_eq!(By::User(&actor).check().unwrap_err().status(), 403);
    }
}
