//! The audit viewer's query line, in the style of Coder's and GitHub's search boxes:
//! `actor:alice action:secret.used since:2026-11-01 session:<id>`.
//!
//! Terms are `key:value`, separated by spaces; a value with spaces is quoted (`target:"a b"`).
//! Repeating `actor`, `action`, `target` or `session` means any of them; `action:secret.*`
//! matches by prefix. `since` and `until` take a date (`2026-11-01`, UTC, the whole day) or an
//! RFC 3339 time, and may each appear once.

use chrono::{DateTime, NaiveDate};
use std::fmt;

/// A parsed query line. Empty lists and `None` mean "no condition".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actors: Vec<String>,
    pub actions: Vec<ActionMatch>,
    pub targets: Vec<String>,
    pub sessions: Vec<String>,
    /// Events at or after this time (Unix ms), with the text it came from.
    pub since: Option<Bound>,
    /// Events at or before this time (Unix ms), with the text it came from.
    pub until: Option<Bound>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionMatch {
    Exact(String),
    /// `secret.*`: every action starting with `secret.`.
    Prefix(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    pub ms: i64,
    pub text: String,
}

/// Why a query line was refused, naming the term.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

pub const KEYS: &str = "actor, action, target, session, since, until";
const MAX_TERMS: usize = 20;
const MAX_VALUE: usize = 200;

impl AuditQuery {
    pub fn parse(line: &str) -> Result<Self, QueryError> {
        let mut query = AuditQuery::default();
        let terms = split(line)?;
        if terms.len() > MAX_TERMS {
            return Err(QueryError(format!(
                "a query has at most {MAX_TERMS} terms, this one has {}",
                terms.len()
            )));
        }
        for (key, value) in terms {
            if value.is_empty() {
                return Err(QueryError(format!("`{key}:` needs a value")));
            }
            if value.chars().count() > MAX_VALUE {
                return Err(QueryError(format!(
                    "the value of `{key}:` is longer than {MAX_VALUE} characters"
                )));
            }
            if value.chars().any(char::is_control) {
                return Err(QueryError(format!(
                    "the value of `{key}:` holds a control character"
                )));
            }
            match key.as_str() {
                "actor" => query.actors.push(value),
                "action" => query.actions.push(match value.strip_suffix('*') {
                    Some(prefix) if !prefix.contains('*') => ActionMatch::Prefix(prefix.into()),
                    _ if value.contains('*') => {
                        return Err(QueryError(format!(
                            "`action:{value}`: `*` may only end the action"
                        )))
                    }
                    _ => ActionMatch::Exact(value),
                }),
                "target" => query.targets.push(value),
                "session" => query.sessions.push(value),
                "since" | "until" => {
                    let slot = if key == "since" {
                        &mut query.since
                    } else {
                        &mut query.until
                    };
                    if slot.is_some() {
                        return Err(QueryError(format!("`{key}:` may appear only once")));
                    }
                    *slot = Some(Bound {
                        ms: time(&key, &value)?,
                        text: value,
                    });
                }
                other => {
                    return Err(QueryError(format!(
                        "unknown filter `{other}:`; the filters are {KEYS}"
                    )))
                }
            }
        }
        if let (Some(since), Some(until)) = (&query.since, &query.until) {
            if since.ms > until.ms {
                return Err(QueryError(format!(
                    "`since:{}` is after `until:{}`",
                    since.text, until.text
                )));
            }
        }
        Ok(query)
    }

    pub fn is_empty(&self) -> bool {
        *self == AuditQuery::default()
    }
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A date means its whole day (UTC): `since` from its first millisecond, `until` to its last.
fn time(key: &str, value: &str) -> Result<i64, QueryError> {
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let start = date
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .ok_or_else(|| QueryError(format!("`{key}:{value}` is not a usable date")))?;
        return Ok(if key == "until" {
            start + DAY_MS - 1
        } else {
            start
        });
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            QueryError(format!(
                "`{key}:{value}` is not a date (2026-11-01) or a time (2026-11-01T09:30:00Z)"
            ))
        })
}

/// Splits the line into `(key, value)` terms, honouring double quotes around values.
fn split(line: &str) -> Result<Vec<(String, String)>, QueryError> {
    let mut terms = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(terms);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != ':' && !c.is_whitespace()) {
            key.push(c);
        }
        if chars.next_if_eq(&':').is_none() {
            return Err(QueryError(format!(
                "`{key}` is not a filter: write key:value (the filters are {KEYS})"
            )));
        }
        let key = key.to_ascii_lowercase();
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => {
                        return Err(QueryError(format!(
                            "the quoted value of `{key}:` has no closing quote"
                        )))
                    }
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return Err(QueryError(format!(
                    "put a space after the quoted value of `{key}:`"
                )));
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '"' {
                    return Err(QueryError(format!(
                        "a quote may only open the value of `{key}:`"
                    )));
                }
                value.push(c);
            }
        }
        terms.push((key, value));
    }
}

/// Prints the query back as a line that parses to the same query.
impl fmt::Display for AuditQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut terms: Vec<String> = Vec::new();
        let mut term = |key: &str, value: &str| {
            if value.chars().any(char::is_whitespace) || value.starts_with('"') {
                terms.push(format!("{key}:\"{value}\""));
            } else {
                terms.push(format!("{key}:{value}"));
            }
        };
        for a in &self.actors {
            term("actor", a);
        }
        for a in &self.actions {
            match a {
                ActionMatch::Exact(a) => term("action", a),
                ActionMatch::Prefix(p) => term("action", &format!("{p}*")),
            }
        }
        for t in &self.targets {
            term("target", t);
        }
        for s in &self.sessions {
            term("session", s);
        }
        if let Some(b) = &self.since {
            term("since", &b.text);
        }
        if let Some(b) = &self.until {
            term("until", &b.text);
        }
        f.write_str(&terms.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let q = AuditQuery::parse("actor:alice action:secret.used since:2026-11-01 session:abc")
            .unwrap();
        assert_eq!(q.actors, ["alice"]);
        assert_eq!(q.actions, [ActionMatch::Exact("secret.used".into())]);
        assert_eq!(q.sessions, ["abc"]);
        assert_eq!(q.since.unwrap().ms, 1_793_491_200_000);
        assert!(AuditQuery::parse("  ").unwrap().is_empty());
    }

    #[test]
    fn dates_cover_the_whole_day_and_times_are_exact() {
        let q = AuditQuery::parse("since:2026-11-01 until:2026-11-01").unwrap();
        assert_eq!(q.until.unwrap().ms - q.since.unwrap().ms, DAY_MS - 1);
        let q = AuditQuery::parse("since:2026-11-01T10:00:00+01:00").unwrap();
        assert_eq!(q.since.unwrap().ms, 1_793_491_200_000 + 9 * 3_600_000);
    }

    #[test]
    fn repeats_quotes_and_prefixes() {
        let q = AuditQuery::parse("actor:a ACTOR:b action:secret.* target:\"my db\"").unwrap();
        assert_eq!(q.actors, ["a", "b"]);
        assert_eq!(q.actions, [ActionMatch::Prefix("secret.".into())]);
        assert_eq!(q.targets, ["my db"]);
    }

    #[test]
    fn refusals_name_the_term() {
        for (line, needle) in [
            ("alice", "`alice` is not a filter"),
            ("colour:red", "unknown filter `colour:`"),
            ("actor:", "`actor:` needs a value"),
            ("since:yesterday", "`since:yesterday` is not a date"),
            ("since:2026-11-01 since:2026-11-02", "only once"),
            ("since:2026-11-02 until:2026-11-01", "is after"),
            ("target:\"open", "no closing quote"),
            ("target:\"a\"b", "space after"),
            ("target:a\"b", "quote may only open"),
            ("action:se*cret", "may only end"),
            ("actor:a\u{7}", "control character"),
        ] {
            let err = AuditQuery::parse(line).unwrap_err().0;
            assert!(err.contains(needle), "{line}: {err}");
        }
        let long = format!("actor:{}", "a".repeat(MAX_VALUE + 1));
        assert!(AuditQuery::parse(&long).is_err());
        let many = "actor:a ".repeat(MAX_TERMS + 1);
        assert!(AuditQuery::parse(&many).is_err());
    }

    #[test]
    fn printing_and_parsing_again_gives_the_same_query() {
        for line in [
            "actor:alice action:secret.used since:2026-11-01 session:abc",
            "target:\"two words\" action:project.* until:2026-11-01T10:00:00Z",
            "",
        ] {
            let q = AuditQuery::parse(line).unwrap();
            assert_eq!(AuditQuery::parse(&q.to_string()).unwrap(), q, "{line}");
        }
    }
}
