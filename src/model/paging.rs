//! Searching and cursor-paging a list the server already holds in full (projects, their
//! members, cluster-secret copies: lists an admin creates one entry at a time, so reading them
//! whole is cheap; only one page goes to the browser). Pure, so it is tested on its own.

use serde::{Deserialize, Serialize};

/// Entries per page.
pub const PAGE_SIZE: usize = 50;
/// The longest search text (a DNS-1123 label, the longest name these lists hold).
pub const MAX_SEARCH: usize = 63;

/// One page, and the cursor of the next one if there is more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            next: None,
        }
    }
}

/// The search text as matched: trimmed and lower-case; refused (with the message shown at the
/// search field) when longer than [`MAX_SEARCH`] characters.
pub fn search(q: &str) -> Result<String, super::RuleError> {
    let q = q.trim();
    if q.chars().count() > MAX_SEARCH {
        return Err(super::RuleError::new(
            super::Code::TooLong,
            format!("A search must be at most {MAX_SEARCH} characters."),
        ));
    }
    Ok(q.to_lowercase())
}

/// Whether any of `fields` contains `needle` (already lower-case), ignoring case.
pub fn contains_any(fields: &[&str], needle: &str) -> bool {
    needle.is_empty() || fields.iter().any(|f| f.to_lowercase().contains(needle))
}

/// The entries that `keep`, ordered by `key` (unique per entry), from after the cursor `after`
/// (empty: from the start), at most `size` of them.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    keep: impl Fn(&T) -> bool,
    after: &str,
    size: usize,
) -> Page<T> {
    let mut kept: Vec<(String, T)> = items
        .into_iter()
        .filter(|t| keep(t))
        .map(|t| (key(&t), t))
        .filter(|(k, _)| after.is_empty() || k.as_str() > after)
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let next = (kept.len() > size).then(|| kept[size - 1].0.clone());
    kept.truncate(size);
    Page {
        items: kept.into_iter().map(|(_, t)| t).collect(),
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).rev().map(|i| format!("p{i:03}")).collect()
    }

    #[test]
    fn pages_follow_the_cursor_to_the_end_without_gaps_or_repeats() {
        let mut seen = Vec::new();
        let mut after = String::new();
        loop {
            let p = page(names(7), |s| s.clone(), |_| true, &after, 3);
            seen.extend(p.items.clone());
            match p.next {
                Some(n) => after = n,
                None => break,
            }
        }
        let mut want = names(7);
        want.sort();
        assert_eq!(seen, want);
    }

    #[test]
    fn an_exact_last_page_has_no_next() {
        let p = page(names(3), |s| s.clone(), |_| true, "", 3);
        assert_eq!(p.items.len(), 3);
        assert_eq!(p.next, None);
    }

    #[test]
    fn search_is_trimmed_case_blind_and_bounded() {
        assert_eq!(search("  ML ").unwrap(), "ml");
        assert!(search(&"x".repeat(MAX_SEARCH)).is_ok());
        assert!(search(&"x".repeat(MAX_SEARCH + 1)).is_err());
        assert!(contains_any(&["ML-team"], "ml"));
        assert!(contains_any(&["a"], ""));
        assert!(!contains_any(&["a", "b"], "c"));
        let p = page(
            names(20),
            |s| s.clone(),
            |s| contains_any(&[s], "p01"),
            "",
            50,
        );
        assert_eq!(
            p.items,
            (10..20).map(|i| format!("p{i:03}")).collect::<Vec<_>>()
        );
    }
}
