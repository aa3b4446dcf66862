//! Sortable admin lists: which column and direction a list is sorted by (`sort`, `dir` in the
//! address or the API call), and the cursor that pages through it in that order (keyset
//! paging: the last row's sort key, then its unique id as the tiebreaker). Pure, so the pages,
//! the API and the server share one check ([`check`]).

use super::{Code, FieldError, RuleError};
use serde::{Deserialize, Serialize};

/// Ascending or descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    Asc,
    Desc,
}

impl Dir {
    pub const ALL: [Dir; 2] = [Dir::Asc, Dir::Desc];

    /// Its value in addresses (`dir=asc`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Asc => "asc",
            Dir::Desc => "desc",
        }
    }

    /// In words, as `aria-sort` and the announcement say it.
    pub fn label(self) -> &'static str {
        match self {
            Dir::Asc => "ascending",
            Dir::Desc => "descending",
        }
    }

    pub fn flipped(self) -> Dir {
        match self {
            Dir::Asc => Dir::Desc,
            Dir::Desc => Dir::Asc,
        }
    }

    /// SQL's word for it.
    pub fn sql(self) -> &'static str {
        match self {
            Dir::Asc => "ASC",
            Dir::Desc => "DESC",
        }
    }

    /// The comparison that keeps the rows after a cursor in this direction.
    pub fn after_op(self) -> &'static str {
        match self {
            Dir::Asc => ">",
            Dir::Desc => "<",
        }
    }
}

/// What a sort key is: a number (a time) or text (a name, a status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Text,
}

/// A sortable column of one list.
pub trait Column: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every sortable column, in the order the error message lists them.
    const ALL: &'static [Self];
    /// The list's order when the address names none.
    const DEFAULT: Self;
    /// Its value in addresses (`sort=name`).
    fn as_str(self) -> &'static str;
    /// In words, for "Sorted by …".
    fn label(self) -> &'static str;
    /// The direction a first click on its header sorts in (newest first for times).
    fn default_dir(self) -> Dir;
    fn key_kind(self) -> KeyKind;
}

/// A list's order: a column and a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort<C> {
    pub column: C,
    pub dir: Dir,
}

impl<C: Column> Default for Sort<C> {
    fn default() -> Self {
        Self {
            column: C::DEFAULT,
            dir: C::DEFAULT.default_dir(),
        }
    }
}

impl<C: Column> Sort<C> {
    /// Reads `sort` and `dir` as typed. Empty `sort` is the list's default order; empty `dir`
    /// the column's own default direction. Anything else unknown is refused, naming its field
    /// (code `invalid_choice`).
    pub fn parse(sort: &str, dir: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let column = match sort.trim() {
            "" => Some(C::DEFAULT),
            raw => {
                let found = C::ALL.iter().copied().find(|c| c.as_str() == raw);
                if found.is_none() {
                    let known: Vec<&str> = C::ALL.iter().map(|c| c.as_str()).collect();
                    errors.push(FieldError::new(
                        "sort",
                        RuleError::new(
                            Code::InvalidChoice,
                            format!(
                                "Cannot sort by {}: choose one of {} (or nothing for the default).",
                                quoted(raw),
                                known.join(", ")
                            ),
                        ),
                    ));
                }
                found
            }
        };
        let dir = match dir.trim() {
            "" => None,
            raw => match Dir::ALL.into_iter().find(|d| d.as_str() == raw) {
                Some(d) => Some(d),
                None => {
                    errors.push(FieldError::new(
                        "dir",
                        RuleError::new(
                            Code::InvalidChoice,
                            format!(
                                "Sort direction {} is not asc or desc (or nothing for the default).",
                                quoted(raw)
                            ),
                        ),
                    ));
                    None
                }
            },
        };
        match column {
            Some(column) if errors.is_empty() => Ok(Self {
                column,
                dir: dir.unwrap_or(column.default_dir()),
            }),
            _ => Err(errors),
        }
    }

    /// The order a click on `column`'s header gives: the other direction if the list is already
    /// sorted by it, else that column's default direction.
    pub fn toggled(self, column: C) -> Self {
        if column == self.column {
            Self {
                column,
                dir: self.dir.flipped(),
            }
        } else {
            Self {
                column,
                dir: column.default_dir(),
            }
        }
    }

    /// `aria-sort` for `column`'s header: `ascending`, `descending` or `none`.
    pub fn aria(self, column: C) -> &'static str {
        if column == self.column {
            self.dir.label()
        } else {
            "none"
        }
    }

    /// The announcement: "Sorted by name, ascending".
    pub fn describe(self) -> String {
        format!("Sorted by {}, {}", self.column.label(), self.dir.label())
    }
}

/// A short, safe rendering of refused input for a message (bounded; control characters
/// escaped by `{:?}`).
fn quoted(raw: &str) -> String {
    let short: String = raw.chars().take(40).collect();
    format!("{short:?}")
}

/// A row's sort key, as the cursor carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Key {
    Int(i64),
    Text(String),
}

/// Where the next page starts: after the row whose sort key is `key` and whose unique id is
/// `id`, in the order `sort` (which the cursor names, so a cursor made for one order is refused
/// in another).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortCursor<C> {
    pub sort: Sort<C>,
    pub key: Key,
    pub id: String,
}

/// The longest text part of a cursor (usernames are at most 32, ids 36).
pub const MAX_CURSOR_TEXT: usize = 64;

/// Text a cursor may carry: what usernames' keys, statuses and ids are made of (lower-case
/// letters, digits, `.`, `_`, `-`), never the separator `~`.
fn cursor_text_ok(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= MAX_CURSOR_TEXT
        && t.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

impl<C: Column> SortCursor<C> {
    /// As it travels in a link: `<sort>~<dir>~<key>~<id>`.
    pub fn encode(&self) -> String {
        let key = match &self.key {
            Key::Int(n) => n.to_string(),
            Key::Text(t) => t.clone(),
        };
        format!(
            "{}~{}~{key}~{}",
            self.sort.column.as_str(),
            self.sort.dir.as_str(),
            self.id
        )
    }

    /// Reads a cursor for the list sorted by `sort`; refused (code `invalid_cursor`) unless
    /// this server could have made it for that order.
    pub fn parse(raw: &str, sort: Sort<C>) -> Result<Self, RuleError> {
        let bad = || {
            RuleError::new(
                Code::InvalidCursor,
                "This page link is not valid for this order: start again from the first page.",
            )
        };
        let mut parts = raw.split('~');
        let (Some(column), Some(dir), Some(key), Some(id), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        if column != sort.column.as_str() || dir != sort.dir.as_str() || !cursor_text_ok(id) {
            return Err(bad());
        }
        let key = match sort.column.key_kind() {
            KeyKind::Int => {
                // Only as this server writes numbers: no sign, leading zero or space.
                let n: i64 = key.parse().map_err(|_| bad())?;
                if n.to_string() != key {
                    return Err(bad());
                }
                Key::Int(n)
            }
            KeyKind::Text if cursor_text_ok(key) => Key::Text(key.to_string()),
            KeyKind::Text => return Err(bad()),
        };
        Ok(Self {
            sort,
            key,
            id: id.to_string(),
        })
    }
}

/// A list's order and where its page starts (`None`: the first page).
pub type Order<C> = (Sort<C>, Option<SortCursor<C>>);

/// The one check of a sortable list's `sort`, `dir` and `after` (the cursor, empty for the
/// first page): the order, and where the page starts. Each problem names its field.
pub fn check<C: Column>(sort: &str, dir: &str, after: &str) -> Result<Order<C>, Vec<FieldError>> {
    let order = Sort::<C>::parse(sort, dir)?;
    match after.trim() {
        "" => Ok((order, None)),
        raw => SortCursor::parse(raw, order)
            .map(|c| (order, Some(c)))
            .map_err(|e| vec![FieldError::new("after", e)]),
    }
}

/// The longest list address an action returns to (a search line, a filter and a cursor fit).
pub const MAX_RETURN_TO: usize = 2048;

/// Where an action posted from the list at `list` (`/admin/users`, say) sends the browser back
/// to: `return_to` if it is that list's own address, with its query (order, filter, cursor),
/// else `None` (the caller then uses the bare list). It must be a relative path on this site
/// starting with `list`: never a scheme (`https://evil`), a host (`//evil`), a backslash (which
/// browsers read as a slash: `/\evil`), `.` or `..` segments, a fragment, spaces or control
/// characters. The check is strict rather than clever: anything odd is simply not followed.
pub fn return_to<'a>(raw: &'a str, list: &str) -> Option<&'a str> {
    let rest = raw.strip_prefix(list)?;
    // Only the list itself, then its query: no further path (`/admin/users/../../evil`).
    let ok = list.starts_with("/admin/")
        && (rest.is_empty() || rest.starts_with('?'))
        && raw.len() <= MAX_RETURN_TO
        && raw
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'\\' | b'#'));
    ok.then_some(raw)
}

/// The admin users list's sortable columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserColumn {
    /// By username (ignoring case).
    Name,
    /// By when the account was created.
    Created,
    /// By when the account last signed in with its password (never: the oldest).
    LastSignIn,
}

impl Column for UserColumn {
    const ALL: &'static [Self] = &[
        UserColumn::Name,
        UserColumn::Created,
        UserColumn::LastSignIn,
    ];
    const DEFAULT: Self = UserColumn::Name;

    fn as_str(self) -> &'static str {
        match self {
            UserColumn::Name => "name",
            UserColumn::Created => "created",
            UserColumn::LastSignIn => "last_sign_in",
        }
    }

    fn label(self) -> &'static str {
        match self {
            UserColumn::Name => "username",
            UserColumn::Created => "creation time",
            UserColumn::LastSignIn => "last sign-in",
        }
    }

    fn default_dir(self) -> Dir {
        match self {
            UserColumn::Name => Dir::Asc,
            UserColumn::Created | UserColumn::LastSignIn => Dir::Desc,
        }
    }

    fn key_kind(self) -> KeyKind {
        match self {
            UserColumn::Name => KeyKind::Text,
            UserColumn::Created | UserColumn::LastSignIn => KeyKind::Int,
        }
    }
}

/// The admin sessions list's sortable columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionColumn {
    /// By when the session started (the default, newest first).
    Started,
    /// By the owner's username (ignoring case).
    User,
    /// By status (failed, running, starting, stopped: alphabetical).
    Status,
}

impl Column for SessionColumn {
    const ALL: &'static [Self] = &[
        SessionColumn::Started,
        SessionColumn::User,
        SessionColumn::Status,
    ];
    const DEFAULT: Self = SessionColumn::Started;

    fn as_str(self) -> &'static str {
        match self {
            SessionColumn::Started => "started",
            SessionColumn::User => "user",
            SessionColumn::Status => "status",
        }
    }

    fn label(self) -> &'static str {
        match self {
            SessionColumn::Started => "start time",
            SessionColumn::User => "user",
            SessionColumn::Status => "status",
        }
    }

    fn default_dir(self) -> Dir {
        match self {
            SessionColumn::Started => Dir::Desc,
            SessionColumn::User | SessionColumn::Status => Dir::Asc,
        }
    }

    fn key_kind(self) -> KeyKind {
        match self {
            SessionColumn::Started => KeyKind::Int,
            SessionColumn::User | SessionColumn::Status => KeyKind::Text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_the_default_order_and_each_column_has_its_own_first_direction() {
        assert_eq!(
            Sort::<UserColumn>::parse("", "").unwrap(),
            Sort {
                column: UserColumn::Name,
                dir: Dir::Asc
            }
        );
        assert_eq!(
            Sort::<UserColumn>::parse(" created ", "").unwrap().dir,
            Dir::Desc
        );
        assert_eq!(
            Sort::<SessionColumn>::parse("", "").unwrap(),
            Sort {
                column: SessionColumn::Started,
                dir: Dir::Desc
            }
        );
        assert_eq!(
            Sort::<SessionColumn>::parse("user", "desc").unwrap(),
            Sort {
                column: SessionColumn::User,
                dir: Dir::Desc
            }
        );
    }

    #[test]
    fn unknown_columns_and_directions_are_refused_naming_their_field() {
        let errors = Sort::<UserColumn>::parse("password", "up").unwrap_err();
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(got, [("sort", "invalid_choice"), ("dir", "invalid_choice")]);
        assert!(
            errors[0].message.contains("name, created, last_sign_in"),
            "{errors:?}"
        );
        // Case and SQL are not columns.
        for bad in ["Name", "username_key", "name; DROP TABLE users", "status"] {
            assert!(Sort::<UserColumn>::parse(bad, "").is_err(), "{bad}");
        }
        assert!(Sort::<SessionColumn>::parse("created", "").is_err());
        assert!(Sort::<UserColumn>::parse("", "ASC").is_err());
    }

    #[test]
    fn a_header_click_flips_the_current_column_and_starts_others_at_their_default() {
        let s = Sort::<UserColumn>::default();
        assert_eq!(s.aria(UserColumn::Name), "ascending");
        assert_eq!(s.aria(UserColumn::Created), "none");
        assert_eq!(s.toggled(UserColumn::Name).dir, Dir::Desc);
        assert_eq!(
            s.toggled(UserColumn::Created),
            Sort {
                column: UserColumn::Created,
                dir: Dir::Desc
            }
        );
        assert_eq!(s.describe(), "Sorted by username, ascending");
    }

    #[test]
    fn cursors_round_trip_and_only_in_their_own_order() {
        let by_created = Sort {
            column: UserColumn::Created,
            dir: Dir::Desc,
        };
        let c = SortCursor {
            sort: by_created,
            key: Key::Int(-1_764_000_000_000),
            id: "alice.b-c_d".into(),
        };
        assert_eq!(c.encode(), "created~desc~-1764000000000~alice.b-c_d");
        assert_eq!(SortCursor::parse(&c.encode(), by_created).unwrap(), c);
        // The same cursor in another order, or direction, is refused.
        let asc = Sort {
            dir: Dir::Asc,
            ..by_created
        };
        assert!(SortCursor::parse(&c.encode(), asc).is_err());
        assert!(SortCursor::parse(&c.encode(), Sort::<UserColumn>::default()).is_err());
        let by_name = Sort::<UserColumn>::default();
        for bad in [
            "",
            "alice",
            "name~asc~alice",
            "name~asc~alice~alice~x",
            "name~asc~Alice~alice",
            "name~asc~al ice~alice",
            "name~asc~~alice",
            "name~asc~alice~",
            "name~asc~a'--~alice",
        ] {
            let e = SortCursor::parse(bad, by_name).unwrap_err();
            assert_eq!(e.code, Code::InvalidCursor, "{bad}");
        }
        for bad in [
            "created~desc~12a~bob",
            "created~desc~~bob",
            "created~desc~+12~bob",
            "created~desc~99999999999999999999~bob",
            "created~desc~012~bob",
            "created~desc~-0~bob",
        ] {
            assert!(SortCursor::parse(bad, by_created).is_err(), "{bad}");
        }
    }

    #[test]
    fn check_reads_all_three_and_names_the_bad_one() {
        let (sort, after) = check::<SessionColumn>("status", "desc", "").unwrap();
        assert_eq!(sort.column, SessionColumn::Status);
        assert_eq!(after, None);
        let (_, after) =
            check::<SessionColumn>("status", "desc", "status~desc~running~ab-12").unwrap();
        assert_eq!(after.unwrap().key, Key::Text("running".into()));
        let errors = check::<SessionColumn>("status", "", "status~desc~running~ab-12").unwrap_err();
        assert_eq!(errors[0].field, "after");
        assert_eq!(errors[0].code, Code::InvalidCursor);
        let errors = check::<SessionColumn>("colour", "", "whatever").unwrap_err();
        assert_eq!(
            errors.len(),
            1,
            "the cursor is not judged against an unknown order"
        );
        assert_eq!(errors[0].field, "sort");
    }

    #[test]
    fn an_action_returns_only_to_its_own_list() {
        let users = "/admin/users";
        for ok in [
            "/admin/users",
            "/admin/users?q=al&sort=created&dir=asc&after=created~asc~17~alice",
            "/admin/users?q=%C3%A9+x",
        ] {
            assert_eq!(return_to(ok, users), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "//evil",
            "//evil.example/admin/users",
            "https://evil",
            "https://evil.example/admin/users",
            "/\\evil",
            "/admin/users\\..\\..\\evil",
            "\\\\evil",
            "/admin/usersX",
            "/admin/users/../../evil",
            "/admin/users//evil",
            "/admin/sessions",
            "/admin/users?q=a b",
            "/admin/users?q=a\nLocation: x",
            "/admin/users#x",
            "javascript:alert(1)",
            " /admin/users",
        ] {
            assert_eq!(return_to(bad, users), None, "{bad:?}");
        }
        let long = format!("/admin/users?q={}", "a".repeat(MAX_RETURN_TO));
        assert_eq!(return_to(&long, users), None);
        // Only lists of the admin view are places to return to.
        assert_eq!(return_to("/", "/"), None);
    }
}
