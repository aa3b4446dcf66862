//! What must hold of every parser and validator whatever it is given: the one statement of the
//! fuzzing invariants. The fuzz targets in `fuzz/` call these functions (through the `fuzzing`
//! feature), and the lib tests replay the committed corpus `fuzz/corpus/<target>/` through the
//! same functions, so CI checks every input the campaigns kept without building the targets.
//!
//! Each `check_*` takes raw bytes, as libFuzzer hands them, and panics when an invariant breaks:
//! accepted input is valid where it goes (an environment variable the OS takes, a name or key
//! the Kubernetes API server's own regular expression accepts, a file inside the mount
//! directory), refused input names a known field, printers round-trip. The checks of what the
//! API server and the OS accept are written here from their rules, not by calling Lockbox's
//! `rules`, so a mistake there shows.
//!
//! Refusals are judged by `is_err()`, the field they name and a non-empty text (`Display`), so
//! the checks do not depend on the error types' details.

use super::{
    audit_query::{ActionMatch, AuditQuery},
    environments::{self, EnvironmentForm},
    extra_env::{self, EnvSource, ExtraEnv},
    launch::{self, Backend, EnvironmentFacts, KnownSecret, LaunchContext, LaunchForm},
    projects, references,
    session::{self, InjectMode, SecretChoice},
    Description, FieldError, Password, SecretName, SecretValue, Username,
};
use std::{collections::BTreeSet, fmt::Display, path::Path};

/// The byte that separates an input's fields. It never occurs in UTF-8, so any text can be a
/// field, and hand-made seeds stay readable (`printf 'a\xffb'`).
pub const SEP: u8 = 0xFF;

/// An input's fields, each as text (invalid UTF-8 becomes U+FFFD, as a form decoder would).
pub fn fields(data: &[u8]) -> Vec<String> {
    data.split(|b| *b == SEP)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

fn field(fields: &[String], i: usize) -> &str {
    fields.get(i).map(String::as_str).unwrap_or("")
}

/// A refusal's text: there must be one.
fn refused<T, E: Display>(r: &Result<T, E>, what: &str) {
    if let Err(e) = r {
        assert!(
            !e.to_string().trim().is_empty(),
            "{what}: a refusal without text"
        );
    }
}

// ---- The rules of where things go, written from their sources -------------------------------

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`: one part of the API server's DNS-1123 regular expressions.
fn k8s_label_shape(s: &str) -> bool {
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match s.as_bytes() {
        [] => false,
        [only] => alnum(only),
        [first, middle @ .., last] => {
            alnum(first) && alnum(last) && middle.iter().all(|c| alnum(c) || *c == b'-')
        }
    }
}

/// The API server's `IsDNS1123Label`.
pub fn k8s_dns1123_label(s: &str) -> bool {
    s.len() <= 63 && k8s_label_shape(s)
}

/// The API server's `IsDNS1123Subdomain` (Secret names).
pub fn k8s_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(k8s_label_shape)
}

/// The API server's `IsConfigMapKey` (Secret data keys): `[-._a-zA-Z0-9]+`, at most 253, not
/// `.` or `..`, not starting with `..`.
pub fn k8s_secret_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
        && s != "."
        && !s.starts_with("..")
}

/// What `execve` and every shell take as a variable name: `[A-Za-z_][A-Za-z0-9_]*` (so no NUL
/// and no `=`, which would split it), and what the API server takes (printable ASCII but `=`).
pub fn env_name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && !s.contains(['\0', '='])
}

/// A variable's value travels as a C string.
pub fn env_value_ok(s: &str) -> bool {
    !s.contains('\0')
}

/// The Kubernetes quantity grammar (`resource.Quantity`'s documented regular expression,
/// without a sign, which resources refuse anyway):
/// `(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?[0-9]+))?`, with the
/// parser's limit that the exponent is read as a 32-bit integer (`int32(ParseInt(...))`: a
/// larger one is refused or silently becomes another number).
pub fn k8s_quantity(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_end = digits(0);
    let mut end = int_end;
    let mut frac = 0;
    if b.get(end) == Some(&b'.') {
        end = digits(end + 1);
        frac = end - int_end - 1;
    }
    if int_end == 0 && frac == 0 {
        return false;
    }
    let suffix = &s[end..];
    match suffix {
        "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" => true,
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => true,
        _ => {
            let Some(exp) = suffix.strip_prefix(['e', 'E']) else {
                return false;
            };
            let unsigned = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            !unsigned.is_empty()
                && unsigned.bytes().all(|c| c.is_ascii_digit())
                && exp.parse::<i32>().is_ok()
        }
    }
}

/// A quantity's value as a base-10 logarithm (`-inf` for zero), from its grammar: close enough
/// to compare quantities that differ by more than a part in 10^9, whatever their size.
pub fn k8s_quantity_log10(s: &str) -> f64 {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(end);
    let number: f64 = number.parse().unwrap_or(0.0);
    let shift = match suffix {
        "" => 0.0,
        "n" => -9.0,
        "u" => -6.0,
        "m" => -3.0,
        "k" => 3.0,
        "M" => 6.0,
        "G" => 9.0,
        "T" => 12.0,
        "P" => 15.0,
        "E" => 18.0,
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            let power = 1 + "KMGTPE".find(&suffix[..1]).unwrap_or(0);
            power as f64 * 1024f64.log10()
        }
        exp => exp[1..].parse::<f64>().unwrap_or(0.0),
    };
    number.log10() + shift
}

// ---- Secret names, values, descriptions ------------------------------------------------------

/// Secret names: an accepted name is a variable name, a Secret key and a file name, at most 64
/// characters, not reserved, kept exactly as typed, and survives JSON both ways.
pub fn check_secret_name(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let parsed = SecretName::parse(&raw);
    refused(&parsed, "secret name");
    if let Ok(name) = parsed {
        assert_eq!(name.as_str(), raw, "a name is kept as typed");
        assert!(env_name_ok(name.as_str()), "{raw:?}: not a variable name");
        assert!(k8s_secret_key(name.as_str()), "{raw:?}: not a Secret key");
        assert!(raw.len() <= 64);
        assert!(!raw.to_ascii_uppercase().starts_with("LOCKBOX_"));
        assert_eq!(name.key(), raw.to_ascii_lowercase());
        let json = serde_json::to_string(&name).expect("a name serialises");
        let back: SecretName = serde_json::from_str(&json).expect("a serialised name parses");
        assert_eq!(back, name);
    } else {
        // Deserialising applies the same rule.
        let json = serde_json::to_string(raw.as_ref()).expect("a string serialises");
        assert!(serde_json::from_str::<SecretName>(&json).is_err());
    }
}

/// The same text with every character replaced by one of the same UTF-8 length (NUL kept):
/// what a value's rules may depend on (its size in bytes and characters, whether it holds NUL)
/// and nothing else.
fn same_shape(v: &str) -> String {
    v.chars()
        .map(|c| match (c, c.len_utf8()) {
            ('\0', _) => '\0',
            (_, 1) => 'x',
            (_, 2) => '\u{e9}',
            (_, 3) => '\u{20ac}',
            _ => '\u{1f600}',
        })
        .collect()
}

/// Secret values: accepted means 1 to `max` bytes without NUL; a refusal (and `Debug`) says the
/// same for any value of the same shape, so it cannot carry the value. Field 0 is the value,
/// field 1 (optional) a decimal limit.
pub fn check_secret_value(data: &[u8]) {
    let f = fields(data);
    let raw = field(&f, 0);
    let max = field(&f, 1)
        .trim()
        .parse::<usize>()
        .unwrap_or(64 * 1024)
        .min(1 << 20);
    let value = SecretValue::new(raw.to_string());
    let shape = SecretValue::new(same_shape(raw));
    let checked = value.check(max);
    refused(&checked, "secret value");
    match &checked {
        Ok(()) => {
            assert!(!raw.is_empty() && raw.len() <= max && env_value_ok(raw));
        }
        Err(e) => {
            let other = shape.check(max).expect_err("the same shape is refused too");
            assert_eq!(
                e.to_string(),
                other.to_string(),
                "a refusal depends on the value"
            );
        }
    }
    assert_eq!(
        format!("{value:?}"),
        format!("{shape:?}"),
        "Debug shows the value"
    );
    // Text areas: every CRLF becomes LF, nothing else changes. (A CR before a CRLF stays: a
    // browser sends every typed line break as CRLF, so it never sends "\r\r\n".)
    let restored = value.clone().from_text_area();
    assert_eq!(restored.expose(), raw.replace("\r\n", "\n"));
}

/// Descriptions of secrets (one line, 200 characters) and of projects and environments (500,
/// line breaks and tabs allowed).
pub fn check_description(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let r = Description::check(&raw);
    refused(&r, "description");
    if r.is_ok() {
        assert!(raw.chars().count() <= 200);
        assert!(
            !raw.chars().any(super::value::breaks_the_line),
            "{raw:?}: not one line"
        );
    }
    let r = projects::description(&raw);
    refused(&r, "project description");
    if r.is_ok() {
        assert!(raw.chars().count() <= 500);
        assert!(!raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')));
    }
}

/// Usernames (field 0) and new passwords (field 1).
pub fn check_username_password(data: &[u8]) {
    let f = fields(data);
    let user = field(&f, 0);
    let parsed = Username::parse(user);
    refused(&parsed, "username");
    if let Ok(u) = parsed {
        assert_eq!(u.as_str(), user);
        assert!((3..=32).contains(&user.len()));
        assert!(user.as_bytes()[0].is_ascii_alphanumeric());
        assert!(user
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-')));
        assert_eq!(u.key(), user.to_ascii_lowercase());
    }
    let password = field(&f, 1);
    let r = Password::check_new(password);
    refused(&r, "password");
    if let Err(e) = r {
        // The refusal never echoes the password.
        let e = e.to_string();
        let shape = Password::check_new(&same_shape(password)).expect_err("same shape");
        assert_eq!(e, shape.to_string(), "a refusal depends on the password");
    } else {
        assert!(password.chars().count() >= 12 && password.len() <= 1024);
    }
}

// ---- Extra environment lines and references --------------------------------------------------

/// The lines a parsed list prints as, which parse back to the same list.
pub fn print_extra_env(entries: &[ExtraEnv]) -> String {
    entries
        .iter()
        .map(|e| match &e.source {
            EnvSource::Literal(v) => format!("{}={v}\n", e.name),
            EnvSource::SecretRef { secret, key } => {
                format!("{}=SECRET:{secret},{key}\n", e.name)
            }
        })
        .collect()
}

/// What must hold of an accepted list of extra variables.
fn assert_extra_env_valid(entries: &[ExtraEnv]) {
    let mut names = BTreeSet::new();
    for e in entries {
        assert!(env_name_ok(&e.name), "{:?}: not a variable name", e.name);
        assert!(!e.name.to_ascii_uppercase().starts_with("LOCKBOX_"));
        assert!(names.insert(e.name.clone()), "{} is set twice", e.name);
        match &e.source {
            EnvSource::Literal(v) => {
                assert!(env_value_ok(v), "{}: a value with NUL", e.name);
                assert!(v.len() <= extra_env::MAX_LITERAL);
            }
            EnvSource::SecretRef { secret, key } => {
                assert!(
                    k8s_dns1123_subdomain(secret),
                    "{secret:?}: not a Secret name"
                );
                assert!(k8s_secret_key(key), "{key:?}: not a Secret key");
            }
        }
    }
}

/// Extra environment lines: accepted lines are variables the OS and the API server take,
/// references name Secrets and keys the API server allows, each name once; refused lines are
/// numbered within the text; printing and parsing again gives the same list.
pub fn check_extra_env(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    match extra_env::parse(&text) {
        Ok(entries) => {
            assert_extra_env_valid(&entries);
            let counted = text
                .lines()
                .map(|l| l.trim_end_matches('\r'))
                .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .count();
            assert_eq!(entries.len(), counted, "a line was dropped");
            let printed = print_extra_env(&entries);
            assert_eq!(
                extra_env::parse(&printed).as_ref(),
                Ok(&entries),
                "printed lines parse to another list: {printed:?}"
            );
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in &errors {
                assert!((1..=lines).contains(&e.line), "line {} of {lines}", e.line);
                assert!(!e.message.trim().is_empty());
            }
        }
    }
}

struct FakeSecret {
    session: bool,
    keys: Vec<String>,
}

impl references::SecretFacts for FakeSecret {
    fn has_key(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
    fn is_session_secret(&self) -> bool {
        self.session
    }
}

/// `VAR=SECRET:name,key` references, judged against a store: field 0 is the extra lines, the
/// other fields the store's Secrets as `name,key,key...` (a leading `!` marks a session
/// Secret). A session Secret is never used, refusals name the `extra_env` field and the
/// reference, nothing is looked up when one is refused by name, and an accepted reference's
/// Secret is in the store with its key.
pub fn check_references(data: &[u8]) {
    let f = fields(data);
    let Ok(extra) = extra_env::parse(field(&f, 0)) else {
        return;
    };
    let store: Vec<(String, FakeSecret)> = f
        .iter()
        .skip(1)
        .filter_map(|s| {
            let (session, s) = match s.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, s.as_str()),
            };
            let mut parts = s.split(',');
            let name = parts.next()?.to_string();
            let keys = parts.map(str::to_string).collect();
            Some((name, FakeSecret { session, keys }))
        })
        .collect();
    let refs = references::of(&extra);
    let by_name = references::refuse_by_name(&extra);
    let mut looked_up = 0;
    let errors = references::judge_all(&extra, "ns", |name| {
        looked_up += 1;
        store.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    });
    assert!(errors.len() <= refs.len());
    for e in &errors {
        assert_eq!(e.field, references::FIELD);
        assert!(
            refs.iter().any(|r| e
                .message
                .starts_with(&format!("{}=SECRET:{},{}: ", r.variable, r.secret, r.key))),
            "{e:?} names no reference"
        );
    }
    if !by_name.is_empty() {
        assert_eq!(looked_up, 0, "looked up although refused by name");
        assert_eq!(errors, by_name);
        return;
    }
    // Every reference without an error resolves to a store Secret that is not a session's and
    // holds the key.
    for r in &refs {
        let prefix = format!("{}=SECRET:{},{}: ", r.variable, r.secret, r.key);
        if errors.iter().any(|e| e.message.starts_with(&prefix)) {
            continue;
        }
        assert!(!references::is_session_object_name(r.secret));
        let found = store.iter().find(|(n, _)| n == r.secret).map(|(_, s)| s);
        let s = found.unwrap_or_else(|| panic!("{r:?} accepted without a Secret"));
        assert!(!s.session && s.keys.iter().any(|k| k == r.key), "{r:?}");
    }
}

// ---- Mount directories and file names --------------------------------------------------------

const SYSTEM_DIRS: [&str; 13] = [
    "bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "run", "sbin", "sys",
    "usr",
];

/// What must hold of a normalised mount directory.
fn assert_mount_dir_valid(dir: &str) {
    assert!(dir.starts_with('/') && dir.len() > 1, "{dir:?}");
    assert!(dir.len() <= launch::MAX_MOUNT_DIR);
    assert!(
        !dir.ends_with('/') && !dir.contains("//"),
        "{dir:?} not normalised"
    );
    assert!(!dir.chars().any(super::value::breaks_the_line));
    let parts: Vec<&str> = dir[1..].split('/').collect();
    for p in &parts {
        assert!(!matches!(*p, "" | "." | ".."), "{dir:?}");
        assert!(p.len() <= 255);
    }
    assert!(
        !SYSTEM_DIRS.contains(&parts[0]),
        "{dir:?} is a system directory"
    );
    assert!(
        !parts.starts_with(&["var", "run"]),
        "{dir:?} is a system directory"
    );
}

/// A file of that name in that directory stays in it.
fn assert_inside(dir: &str, file: &str) {
    let path = Path::new(dir).join(file);
    assert_eq!(
        path.parent(),
        Some(Path::new(dir)),
        "{file:?} leaves {dir:?}"
    );
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some(file),
        "{file:?} is not one component"
    );
    assert!(file.len() <= session::MAX_TARGET);
    // And it is a Secret key as `file.<name>`.
    assert!(k8s_secret_key(&format!("file.{file}")));
}

/// Mount directories (field 0), file names and variable names a secret is given (field 1): a
/// normalised directory is valid and normalises to itself, a file stays inside it.
pub fn check_mount_dir(data: &[u8]) {
    let f = fields(data);
    let raw = field(&f, 0);
    let dir = launch::mount_dir(raw);
    refused(&dir, "mount directory");
    let name = field(&f, 1);
    let file = session::check_file_name(name);
    refused(&file, "file name");
    if let Ok(dir) = &dir {
        assert_mount_dir_valid(dir);
        assert_eq!(launch::mount_dir(dir).as_ref(), Ok(dir), "not idempotent");
        if file.is_ok() {
            assert_inside(dir, name);
        }
    }
    if file.is_ok() {
        assert_inside(launch::DEFAULT_MOUNT_DIR, name);
    }
    let env = session::check_env_target(name);
    refused(&env, "variable name");
    if env.is_ok() {
        assert!(env_name_ok(name), "{name:?}");
        assert!(name.len() <= session::MAX_TARGET);
        assert!(!name.to_ascii_uppercase().starts_with("LOCKBOX_"));
        assert!(!session::RESERVED_ENV.contains(&name));
    }
}

// ---- Environments ----------------------------------------------------------------------------

const ENVIRONMENT_FIELDS: [&str; 11] = [
    "name",
    "description",
    "image",
    "command",
    "args",
    "port",
    "local_command",
    "cpu_request",
    "memory_request",
    "cpu_limit",
    "memory_limit",
];

/// Environment definitions: the fields in [`ENVIRONMENT_FIELDS`]' order (command and args one
/// word a line). Accepted: a DNS-1123 label for a name, an image without spaces, a port
/// 1–65535, quantities the API server parses, words without NUL. Refused: each error names one
/// of the form's fields, once.
pub fn check_environment(data: &[u8]) {
    let f = fields(data);
    let form = EnvironmentForm {
        name: field(&f, 0).into(),
        description: field(&f, 1).into(),
        image: field(&f, 2).into(),
        command: environments::lines(field(&f, 3)),
        args: environments::lines(field(&f, 4)),
        port: field(&f, 5).into(),
        local_command: field(&f, 6).into(),
        cpu_request: field(&f, 7).into(),
        memory_request: field(&f, 8).into(),
        cpu_limit: field(&f, 9).into(),
        memory_limit: field(&f, 10).into(),
    };
    match environments::validate(&form) {
        Ok(spec) => {
            assert!(k8s_dns1123_label(&spec.name), "{:?}", spec.name);
            assert!(!spec.image.is_empty() && spec.image.len() <= environments::MAX_IMAGE);
            assert!(!spec
                .image
                .chars()
                .any(|c| c.is_whitespace() || c.is_control()));
            assert!(spec.port.is_none_or(|p| p > 0));
            for q in [
                &spec.cpu_request,
                &spec.memory_request,
                &spec.cpu_limit,
                &spec.memory_limit,
            ]
            .into_iter()
            .flatten()
            {
                assert!(
                    k8s_quantity(q),
                    "{q:?}: the API server refuses this quantity"
                );
            }
            // The API server refuses a container whose request is above its limit.
            for (request, limit) in [
                (&spec.cpu_request, &spec.cpu_limit),
                (&spec.memory_request, &spec.memory_limit),
            ] {
                if let (Some(r), Some(l)) = (request, limit) {
                    let (r_log, l_log) = (k8s_quantity_log10(r), k8s_quantity_log10(l));
                    // A zero limit is -inf: no tolerance there (it would make a NaN).
                    let tolerance = if l_log.is_finite() {
                        1e-9 * l_log.abs().max(1.0)
                    } else {
                        0.0
                    };
                    assert!(
                        r_log <= l_log + tolerance,
                        "request {r:?} above limit {l:?}"
                    );
                }
            }
            for w in spec.command.iter().chain(&spec.args) {
                assert!(env_value_ok(w) && w.len() <= environments::MAX_WORD_BYTES);
            }
            assert!(spec.command.len() <= environments::MAX_WORDS);
            assert!(spec.args.len() <= environments::MAX_WORDS);
            assert!(env_value_ok(&spec.local_command));
            let again = EnvironmentForm {
                name: spec.name.clone(),
                description: spec.description.clone(),
                image: spec.image.clone(),
                command: spec.command.clone(),
                args: spec.args.clone(),
                port: spec.port.map(|p| p.to_string()).unwrap_or_default(),
                local_command: spec.local_command.clone(),
                cpu_request: spec.cpu_request.clone().unwrap_or_default(),
                memory_request: spec.memory_request.clone().unwrap_or_default(),
                cpu_limit: spec.cpu_limit.clone().unwrap_or_default(),
                memory_limit: spec.memory_limit.clone().unwrap_or_default(),
            };
            assert_eq!(
                environments::validate(&again).as_ref(),
                Ok(&spec),
                "not stable"
            );
        }
        Err(errors) => assert_fields_known(&errors, |f| ENVIRONMENT_FIELDS.contains(&f), true),
    }
}

fn assert_fields_known(errors: &[FieldError], known: impl Fn(&str) -> bool, once: bool) {
    assert!(!errors.is_empty(), "refused without a reason");
    let mut seen = BTreeSet::new();
    for e in errors {
        assert!(known(&e.field), "unknown field {:?}", e.field);
        assert!(!e.message.trim().is_empty(), "{e:?}");
        if once {
            assert!(seen.insert(e.field.clone()), "{} named twice", e.field);
        }
    }
}

// ---- The audit query line --------------------------------------------------------------------

/// The audit viewer's query line: print → parse gives the same query, accepted values have no
/// control characters and fit, `since` is not after `until`.
pub fn check_audit_query(data: &[u8]) {
    let line = String::from_utf8_lossy(data);
    let parsed = AuditQuery::parse(&line);
    refused(&parsed, "audit query");
    let Ok(q) = parsed else { return };
    let values = q
        .actors
        .iter()
        .chain(&q.targets)
        .chain(&q.sessions)
        .map(String::as_str)
        .chain(q.actions.iter().map(|a| match a {
            ActionMatch::Exact(s) | ActionMatch::Prefix(s) => s.as_str(),
        }));
    let mut terms = 0;
    for v in values {
        terms += 1;
        assert!(!v.chars().any(char::is_control), "{v:?}");
        assert!(v.chars().count() <= 200);
    }
    for a in &q.actions {
        let (ActionMatch::Exact(s) | ActionMatch::Prefix(s)) = a;
        assert!(!s.contains('*'), "{s:?}: a star inside an action");
    }
    terms += usize::from(q.since.is_some()) + usize::from(q.until.is_some());
    assert!(terms <= 20);
    if let (Some(s), Some(u)) = (&q.since, &q.until) {
        assert!(s.ms <= u.ms);
    }
    let printed = q.to_string();
    let again = AuditQuery::parse(&printed)
        .unwrap_or_else(|e| panic!("{printed:?} (printed from {line:?}) is refused: {e}"));
    assert_eq!(again, q, "{printed:?} parses to another query");
}

// ---- The launch as a whole -------------------------------------------------------------------

/// The secrets a launch input can choose from.
const KNOWN: [&str; 4] = ["DB_PASSWORD", "TLS_KEY", "A", "b_1"];

/// A whole launch. Field 0 is control bytes (backend, whether the environment and project
/// exist, whether it runs locally, the session limit and the secrets' sizes), then environment,
/// project, mount directory and extra lines, then one field per row as the command line writes
/// it (`NAME[:env|:file][=TARGET]`). Accepted: only known secrets, each once, under names and
/// files that are valid and distinct, a valid mount directory, extra variables that take no
/// name already given, within the byte limit. Refused: every error on a field of the form.
pub fn check_launch(data: &[u8]) {
    let f = fields(data);
    let control = data.split(|b| *b == SEP).next().unwrap_or(&[]);
    let byte = |i: usize| control.get(i).copied().unwrap_or(0);
    let backend = if byte(0) & 1 == 0 {
        Backend::Local
    } else {
        Backend::Kubernetes
    };
    let env_exists = byte(0) & 2 == 0;
    let runs_locally = byte(0) & 4 == 0;
    let project_exists = byte(0) & 8 == 0;
    let max_session_bytes = 64 * (1 + usize::from(byte(1))) * (1 + usize::from(byte(2)));
    let known: Vec<KnownSecret> = KNOWN
        .iter()
        .enumerate()
        .map(|(i, n)| KnownSecret {
            name: n.to_string(),
            bytes: 1 + 16 * usize::from(byte(3 + i)),
        })
        .collect();
    let rows: Vec<SecretChoice> = f
        .iter()
        .skip(5)
        .take(session::MAX_INJECTIONS + 2)
        .map(|r| SecretChoice::from_flag(r))
        .collect();
    let form = LaunchForm {
        environment: field(&f, 1),
        project: field(&f, 2),
        rows: &rows,
        mount_dir: field(&f, 3),
        extra_env: field(&f, 4),
    };
    let ctx = LaunchContext {
        environment: env_exists.then_some(EnvironmentFacts {
            name: "demo",
            runs_locally,
        }),
        project: project_exists.then(|| projects::chosen(form.project)),
        known: &known,
        backend,
        max_session_bytes,
    };
    match launch::validate(&form, &ctx) {
        Ok(ok) => {
            assert!(env_exists && project_exists);
            assert!(backend == Backend::Kubernetes || runs_locally);
            assert_eq!(ok.injections.len(), ok.chosen.len());
            assert!(ok.injections.len() <= session::MAX_INJECTIONS);
            assert_mount_dir_valid(&ok.mount_dir);
            assert_extra_env_valid(&ok.extra_env);
            let mut secrets = BTreeSet::new();
            let mut targets = BTreeSet::new();
            let mut env_names = BTreeSet::new();
            let mut bytes = 0;
            for (inj, &k) in ok.injections.iter().zip(&ok.chosen) {
                assert_eq!(known[k].name, inj.secret, "not the stored name");
                assert!(
                    secrets.insert(inj.secret.to_ascii_lowercase()),
                    "chosen twice"
                );
                assert!(
                    targets.insert((inj.mode, inj.target.clone())),
                    "a name twice"
                );
                bytes += known[k].bytes;
                match inj.mode {
                    InjectMode::Env => {
                        assert!(env_name_ok(&inj.target), "{:?}", inj.target);
                        assert!(!inj.target.to_ascii_uppercase().starts_with("LOCKBOX_"));
                        assert!(!session::RESERVED_ENV.contains(&inj.target.as_str()));
                        assert!(inj.target.len() <= session::MAX_TARGET);
                        env_names.insert(inj.target.as_str());
                    }
                    InjectMode::File => assert_inside(&ok.mount_dir, &inj.target),
                }
            }
            for e in &ok.extra_env {
                assert!(
                    !env_names.contains(e.name.as_str()),
                    "{} given twice",
                    e.name
                );
                assert!(!session::RESERVED_ENV.contains(&e.name.as_str()));
                if let EnvSource::Literal(v) = &e.source {
                    bytes += e.name.len() + v.len();
                }
            }
            assert_eq!(ok.total_bytes, bytes);
            assert!(ok.total_bytes <= max_session_bytes);
        }
        Err(errors) => {
            let rows_len = rows.len();
            assert_fields_known(
                &errors,
                |f| {
                    matches!(
                        f,
                        "project" | "environment" | "mount_dir" | "extra_env" | "secrets"
                    ) || f
                        .strip_prefix("secret-")
                        .and_then(|i| i.parse::<usize>().ok())
                        .is_some_and(|i| i < rows_len)
                },
                false,
            );
            let named = |name: &str| errors.iter().any(|e| e.field == name);
            assert_eq!(named("project"), !project_exists);
            if !env_exists || (backend == Backend::Local && !runs_locally) {
                assert!(named("environment"));
            }
        }
    }
}

/// Runs every file of `fuzz/corpus/<target>/` through `check`; there must be some. Every file
/// is run, and the ones that break an invariant are named together.
#[cfg(test)]
pub(crate) fn replay(target: &str, check: fn(&[u8])) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no corpus", dir.display());
    let broken: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).unwrap();
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        broken.is_empty(),
        "inputs that break an invariant: {broken:#?}"
    );
}

#[cfg(test)]
mod tests {
    //! The committed corpus, replayed: every input a campaign kept must still pass.
    use super::*;

    #[test]
    fn corpus_secret_name() {
        replay("secret_name", check_secret_name);
    }

    #[test]
    fn corpus_secret_value() {
        replay("secret_value", check_secret_value);
    }

    #[test]
    fn corpus_description() {
        replay("description", check_description);
    }

    #[test]
    fn corpus_username_password() {
        replay("username_password", check_username_password);
    }

    #[test]
    fn corpus_extra_env() {
        replay("extra_env", check_extra_env);
    }

    #[test]
    fn corpus_references() {
        replay("references", check_references);
    }

    #[test]
    fn corpus_mount_dir() {
        replay("mount_dir", check_mount_dir);
    }

    #[test]
    fn corpus_environment() {
        replay("environment", check_environment);
    }

    #[test]
    fn corpus_audit_query() {
        replay("audit_query", check_audit_query);
    }

    #[test]
    fn corpus_launch() {
        replay("launch", check_launch);
    }

    /// The reference rules themselves, against the API server's documented examples.
    #[test]
    fn reference_rules() {
        for ok in [
            "1", "0.5", ".5", "1.", "500m", "256Mi", "1e3", "1E-2", "2Ei", "1n",
        ] {
            assert!(k8s_quantity(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "m",
            "1..2",
            "1mi",
            "1e",
            "1 G",
            "1GiB",
            "1e99999999999",
            "e3",
        ] {
            assert!(!k8s_quantity(bad), "{bad}");
        }
        assert!(k8s_dns1123_subdomain("a.b-c.9") && !k8s_dns1123_subdomain("a..b"));
        assert!(k8s_dns1123_label("a-1") && !k8s_dns1123_label("a.b"));
        assert!(k8s_secret_key("a..b") && !k8s_secret_key("..a") && !k8s_secret_key("."));
        let log = k8s_quantity_log10;
        assert!((log("1Gi") - log("1073741824")).abs() < 1e-12);
        assert!((log("1500m") - log("1.5")).abs() < 1e-12);
        assert!((log("2e3") - log("2k")).abs() < 1e-12);
        assert!(log("1e-3") < log("2m") && log("0") < log("1n"));
        assert!(env_name_ok("_A1") && !env_name_ok("A=B") && !env_name_ok("A\0"));
    }
}
