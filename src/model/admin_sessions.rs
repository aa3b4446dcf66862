//! The admin's view of every user's sessions: the filter (user, environment, project, status),
//! the cursor that pages through them newest first, and what a row shows (names and modes of
//! what each session received, never values). Pure, so the page and the server share it.

use super::{
    session::SessionInfo,
    sorting::{self, SessionColumn, Sort, SortCursor},
    Code, FieldError, RuleError,
};
use serde::{Deserialize, Serialize};

/// How many sessions one page lists.
pub const PAGE_SIZE: usize = 50;

/// Which sessions a status filter keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// Starting or running.
    Live,
    Starting,
    Running,
    Failed,
    Stopped,
}

impl StatusFilter {
    pub const ALL: [Self; 5] = [
        Self::Live,
        Self::Starting,
        Self::Running,
        Self::Failed,
        Self::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Live => "Live (starting or running)",
            Self::Starting => "Starting",
            Self::Running => "Running",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
        }
    }

    /// The stored statuses it keeps.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            Self::Live => &["starting", "running"],
            Self::Starting => &["starting"],
            Self::Running => &["running"],
            Self::Failed => &["failed"],
            Self::Stopped => &["stopped"],
        }
    }

    fn parse(raw: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                RuleError::new(
                    Code::InvalidChoice,
                    format!(
                        "Status {raw:?} is not one of {} (or empty for any).",
                        known.join(", ")
                    ),
                )
            })
    }
}

/// Where a page of the admin tokens list starts: after the row of time `at` (a token's
/// creation) with id `id` (the last one of the page before), in the order newest first. (The
/// sessions list, which sorts, pages with a [`SortCursor`].)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub at: i64,
    pub id: String,
}

impl Cursor {
    /// As it travels in a link: `<at>.<id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at, self.id)
    }

    pub fn parse(raw: &str) -> Result<Self, RuleError> {
        let bad = || {
            RuleError::new(
                Code::InvalidCursor,
                "This page link is not valid: start again from the first page.",
            )
        };
        let (at, id) = raw.split_once('.').ok_or_else(bad)?;
        let at = at.parse::<i64>().map_err(|_| bad())?;
        // Session ids are UUIDs: anything else is not a cursor this server made.
        let id_ok = !id.is_empty()
            && id.len() <= 36
            && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if !id_ok {
            return Err(bad());
        }
        Ok(Self {
            at,
            id: id.to_string(),
        })
    }
}

/// A checked filter: empty fields filter nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFilter {
    /// The owner's username, ignoring case.
    pub user: Option<String>,
    pub environment: Option<String>,
    pub project: Option<String>,
    pub status: Option<StatusFilter>,
    /// The order (newest first by default).
    pub sort: Sort<SessionColumn>,
    /// Where the page starts (a cursor made for `sort`).
    pub after: Option<SortCursor<SessionColumn>>,
}

/// The filter as typed (form fields or API arguments).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterInput {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub after: String,
    /// `started` (the default), `user` or `status`.
    #[serde(default)]
    pub sort: String,
    /// `asc` or `desc` (empty: the column's own default).
    #[serde(default)]
    pub dir: String,
}

/// The longest name a filter field takes (usernames, environment and project names are all
/// shorter); longer input is refused rather than sent to the database.
const MAX_FILTER: usize = 128;

fn text(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let t = raw.trim();
    if t.chars().count() > MAX_FILTER {
        errors.push(FieldError::new(
            field,
            RuleError::new(
                Code::TooLong,
                format!("The {field} filter may be at most {MAX_FILTER} characters."),
            ),
        ));
        return None;
    }
    (!t.is_empty()).then(|| t.to_string())
}

impl FilterInput {
    /// Checks every field; each problem names its field.
    pub fn check(&self) -> Result<SessionFilter, Vec<FieldError>> {
        let mut errors = Vec::new();
        let user = text("user", &self.user, &mut errors);
        let environment = text("environment", &self.environment, &mut errors);
        let project = text("project", &self.project, &mut errors);
        let status = match self.status.trim() {
            "" => None,
            raw => match StatusFilter::parse(raw) {
                Ok(s) => Some(s),
                Err(m) => {
                    errors.push(FieldError::new("status", m));
                    None
                }
            },
        };
        let order = match sorting::check::<SessionColumn>(&self.sort, &self.dir, &self.after) {
            Ok(order) => Some(order),
            Err(more) => {
                errors.extend(more);
                None
            }
        };
        let Some((sort, after)) = order.filter(|_| errors.is_empty()) else {
            return Err(errors);
        };
        Ok(SessionFilter {
            user,
            environment,
            project,
            status,
            sort,
            after,
        })
    }
}

/// A session as the admin sees it: whose it is, and what it received (names and modes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSession {
    /// The owner's username.
    pub owner: String,
    #[serde(flatten)]
    pub session: SessionInfo,
}

/// One page of sessions in the order `sort`; `next` is the `after` of the following page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSessionPage {
    pub sessions: Vec<AdminSession>,
    pub next: Option<String>,
    /// The order of this page.
    #[serde(default)]
    pub sort: Sort<SessionColumn>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_filter_filters_nothing() {
        assert_eq!(
            FilterInput::default().check().unwrap(),
            SessionFilter::default()
        );
        let f = FilterInput {
            user: "  ".into(),
            ..Default::default()
        };
        assert_eq!(f.check().unwrap(), SessionFilter::default());
    }

    #[test]
    fn each_bad_field_is_named() {
        let f = FilterInput {
            user: "a".repeat(200),
            status: "asleep".into(),
            after: "yesterday".into(),
            ..Default::default()
        };
        let errors = f.check().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["user", "status", "after"]);
        assert!(errors[1].message.contains("asleep"), "{:?}", errors[1]);
        let f = FilterInput {
            sort: "environment".into(),
            dir: "sideways".into(),
            ..Default::default()
        };
        let errors = f.check().unwrap_err();
        let fields: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [("sort", "invalid_choice"), ("dir", "invalid_choice")]
        );
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let c = Cursor {
            at: 1_764_000_000_000,
            id: "0b9e6a3c-1f7d-4c1e-9a51-3f1f7f0f2a11".into(),
        };
        assert_eq!(Cursor::parse(&c.encode()).unwrap(), c);
        for bad in ["", "12", "x.abc", "12.", "12.a b", "12.'; DROP", "12.zz"] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn live_keeps_starting_and_running() {
        assert_eq!(StatusFilter::Live.statuses(), ["starting", "running"]);
        let f = FilterInput {
            status: "live".into(),
            ..Default::default()
        };
        assert_eq!(f.check().unwrap().status, Some(StatusFilter::Live));
    }
}
