//! Property tests of the shared parsers and validators (issue 12): for generated input, near
//! misses of valid input and arbitrary text, each one never panics, accepts only what is valid
//! where it goes, refuses with its code, and (where a printer exists) parses what it prints
//! back to the same thing.
//!
//! "Valid where it goes" is judged independently of the code under test: variables by a child
//! process that must receive them exactly, Kubernetes names by regular expressions written
//! from the API server's validation rules (k8s.io/apimachinery `validation.go`), paths by
//! `std::path`.

use super::{
    admin_sessions, environments, extra_env, launch, names::RESERVED_PREFIX, namespace_secrets,
    paging, projects, propagation, rules, session, tokens, Code, Description, FieldError, Password,
    RuleError, SecretName, SecretValue, Username,
};
use proptest::prelude::*;
use regex::Regex;
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Component, Path},
    sync::LazyLock,
};

// ---- Kubernetes' rules, as the API server states them (not via src/model/rules.rs) ----

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

/// `IsDNS1123Label`.
static DNS1123_LABEL: LazyLock<Regex> = LazyLock::new(|| re(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\z"));
/// `IsDNS1123Subdomain`.
static DNS1123_SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| re(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\z"));
/// `IsDNS1035Label`.
static DNS1035_LABEL: LazyLock<Regex> = LazyLock::new(|| re(r"\A[a-z]([-a-z0-9]*[a-z0-9])?\z"));
/// The name part of `IsQualifiedName`.
static QUALIFIED_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"\A([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\z"));
/// `IsValidLabelValue`.
static LABEL_VALUE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\A(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\z"));
/// `IsConfigMapKey` (Secret data keys).
static CONFIG_MAP_KEY: LazyLock<Regex> = LazyLock::new(|| re(r"\A[-._a-zA-Z0-9]+\z"));
/// `IsCIdentifier`: what shells accept as a variable name.
static C_IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| re(r"\A[A-Za-z_][A-Za-z0-9_]*\z"));
/// `IsEnvVarName` since Kubernetes 1.34: printable ASCII but `=`.
static RELAXED_ENV_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"\A[ -<>-~]+\z"));

pub(crate) fn k8s_label(s: &str) -> bool {
    s.len() <= 63 && DNS1123_LABEL.is_match(s)
}

pub(crate) fn k8s_subdomain(s: &str) -> bool {
    s.len() <= 253 && DNS1123_SUBDOMAIN.is_match(s)
}

fn k8s_dns1035(s: &str) -> bool {
    s.len() <= 63 && DNS1035_LABEL.is_match(s)
}

fn k8s_label_key(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    let (prefix, name) = match parts.as_slice() {
        [name] => (None, *name),
        [prefix, name] => (Some(*prefix), *name),
        _ => return false,
    };
    prefix.is_none_or(|p| !p.is_empty() && k8s_subdomain(p))
        && name.len() <= 63
        && QUALIFIED_NAME.is_match(name)
}

fn k8s_label_value(s: &str) -> bool {
    s.len() <= 63 && LABEL_VALUE.is_match(s)
}

pub(crate) fn k8s_secret_key(s: &str) -> bool {
    s.len() <= 253 && CONFIG_MAP_KEY.is_match(s) && s != "." && s != ".." && !s.starts_with("..")
}

pub(crate) fn shell_name(s: &str) -> bool {
    C_IDENTIFIER.is_match(s)
}

/// Whether a child process receives exactly these variables: the OS (and Rust's `Command`)
/// accept them, and each arrives whole, under its own name.
pub(crate) fn os_passes(vars: &[(String, String)]) -> bool {
    if vars.iter().any(|(k, _)| k.is_empty() || k.contains('=')) {
        return false;
    }
    let Ok(out) = std::process::Command::new("/usr/bin/env")
        .arg("-0")
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
    else {
        return false;
    };
    let got: BTreeSet<&[u8]> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .collect();
    let want: BTreeSet<Vec<u8>> = vars
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect();
    out.status.success() && got == want.iter().map(Vec::as_slice).collect()
}

// ---- generators: valid input, near misses, and anything ----

/// Characters that break rules: separators, NUL and controls, look-alikes, wide ones.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec![
            '\0', '=', '\n', '\r', '\t', ' ', '.', '-', '_', '/', ':', ',', '#', '$', '\\', 'A',
            'z', '0', '9', 'é', '\u{200B}', '\u{0410}', '\u{FF21}', '\u{2028}', '\u{85}',
            '\u{1F511}',
        ]),
        1 => any::<char>(),
    ]
}

/// `s` with one character inserted, replaced or removed at a chosen place.
fn edit(s: String, c: char, at: prop::sample::Index, op: u8) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    match op % 3 {
        0 => chars.insert(at.index(chars.len() + 1), c),
        1 if !chars.is_empty() => {
            let i = at.index(chars.len());
            chars[i] = c;
        }
        _ if !chars.is_empty() => {
            chars.remove(at.index(chars.len()));
        }
        _ => chars.push(c),
    }
    chars.into_iter().collect()
}

/// Mostly `valid`, often one edit away from it, sometimes anything at all.
pub(crate) fn around(valid: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
    let valid = valid.boxed();
    prop_oneof![
        3 => valid.clone(),
        3 => (valid, tricky_char(), any::<prop::sample::Index>(), any::<u8>())
            .prop_map(|(s, c, at, op)| edit(s, c, at, op)),
        1 => any::<String>(),
        1 => "[ -~]{0,40}",
    ]
    .boxed()
}

pub(crate) fn label_like() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9]{0,70}[a-z0-9])?"
}

pub(crate) fn subdomain_like() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?", 1..12).prop_map(|v| v.join("."))
}

fn secret_name_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,70}",
        "(LOCKBOX_|lockbox_|LockBox)[A-Z0-9_]{0,8}",
    ]
}

fn key_like() -> impl Strategy<Value = String> {
    "[-._a-zA-Z0-9]{1,260}"
}

fn refused_with(e: &RuleError, allowed: &[Code]) -> Result<(), TestCaseError> {
    prop_assert!(
        allowed.contains(&e.code),
        "code {} not in {allowed:?}",
        e.code
    );
    prop_assert!(!e.message.is_empty());
    Ok(())
}

fn every_code() -> BTreeSet<&'static str> {
    Code::ALL.iter().map(|c| c.as_str()).collect()
}

proptest! {
    /// Each naming rule of `rules.rs` accepts exactly what the API server accepts (both ways),
    /// and refuses with its own codes.
    #[test]
    fn kubernetes_names_match_the_api_server(
        label in around(label_like()),
        sub in around(subdomain_like()),
    ) {
        for s in [&label, &sub] {
            prop_assert_eq!(rules::dns1123_label(s).is_ok(), k8s_label(s), "label {:?}", s);
            prop_assert_eq!(rules::dns1123_subdomain(s).is_ok(), k8s_subdomain(s), "subdomain {:?}", s);
            prop_assert_eq!(rules::dns1035_label(s).is_ok(), k8s_dns1035(s), "dns1035 {:?}", s);
            let length = [Code::Required, Code::TooLong];
            if let Err(e) = rules::dns1123_label(s) {
                refused_with(&e, &[length[0], length[1], Code::NotADns1123Label])?;
            }
            if let Err(e) = rules::dns1123_subdomain(s) {
                refused_with(&e, &[length[0], length[1], Code::NotADns1123Subdomain])?;
            }
            if let Err(e) = rules::dns1035_label(s) {
                refused_with(&e, &[length[0], length[1], Code::NotADns1123Label, Code::NotADns1035Label])?;
            }
        }
    }

    #[test]
    fn labels_match_the_api_server(
        key in around(prop_oneof![
            "[A-Za-z0-9]([-A-Za-z0-9_.]{0,70}[A-Za-z0-9])?",
            (subdomain_like(), "[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?")
                .prop_map(|(p, n)| format!("{p}/{n}")),
        ]),
    ) {
        prop_assert_eq!(rules::label_key(&key).is_ok(), k8s_label_key(&key), "key {:?}", &key);
        prop_assert_eq!(rules::label_value(&key).is_ok(), k8s_label_value(&key), "value {:?}", &key);
        if let Err(e) = rules::label_key(&key) {
            refused_with(&e, &[Code::NotALabelKey])?;
        }
        if let Err(e) = rules::label_value(&key) {
            refused_with(&e, &[Code::NotALabelValue])?;
        }
    }

    /// Secret keys and file names: the API server's key rule; a file name of at most 128
    /// characters, and a file of that name in any accepted mount directory stays in it.
    #[test]
    fn secret_keys_and_file_names(key in around(key_like()), dir in around(dir_like())) {
        prop_assert_eq!(rules::secret_key(&key).is_ok(), k8s_secret_key(&key), "{:?}", &key);
        let file_ok = rules::file_name(&key).is_ok();
        prop_assert_eq!(file_ok, key.len() <= 128 && k8s_secret_key(&key), "{:?}", &key);
        prop_assert_eq!(session::check_file_name(&key).is_ok(), file_ok);
        let keys = [Code::Required, Code::TooLong, Code::InvalidCharacter, Code::ReservedName];
        if let Err(e) = rules::file_name(&key) {
            refused_with(&e, &keys)?;
        }
        if let (true, Ok(dir)) = (file_ok, launch::mount_dir(&dir)) {
            let path = Path::new(&dir).join(&key);
            prop_assert_eq!(path.parent(), Some(Path::new(&dir)), "{:?} escapes {}", &key, &dir);
            prop_assert!(matches!(path.components().next_back(), Some(Component::Normal(_))));
        }
    }

    #[test]
    fn variable_names(name in around("[A-Za-z_][A-Za-z0-9_]{0,20}")) {
        prop_assert_eq!(rules::env_var_name(&name).is_ok(), shell_name(&name), "{:?}", &name);
        prop_assert_eq!(
            rules::api_env_var_name(&name).is_ok(),
            RELAXED_ENV_NAME.is_match(&name),
            "{:?}", &name
        );
        if let Err(e) = rules::env_var_name(&name) {
            refused_with(&e, &[Code::Required, Code::InvalidFirstCharacter, Code::InvalidCharacter])?;
        }
        if rules::env_var_name(&name).is_ok() {
            prop_assert!(rules::api_env_var_name(&name).is_ok(), "the stricter rule implies the API's");
            prop_assert!(os_passes(&[(name.clone(), "v".into())]));
        }
    }

    /// A secret name is at once a shell variable, a Secret key and a file name.
    #[test]
    fn secret_names(raw in around(secret_name_like())) {
        match SecretName::parse(&raw) {
            Ok(name) => {
                let s = name.as_str();
                prop_assert_eq!(s, raw.as_str());
                prop_assert!(shell_name(s) && s.len() <= 64, "{:?}", s);
                prop_assert!(k8s_secret_key(s) && rules::file_name(s).is_ok());
                prop_assert!(!s.to_ascii_uppercase().starts_with(RESERVED_PREFIX));
                prop_assert!(os_passes(&[(s.to_string(), "v".into())]));
                // Printed and read back (as the API and JSON carry it), the same name.
                prop_assert_eq!(SecretName::parse(&name.to_string()), Ok(name.clone()));
                let json = serde_json::to_string(&name).unwrap();
                prop_assert_eq!(serde_json::from_str::<SecretName>(&json).unwrap(), name);
            }
            Err(e) => {
                refused_with(&e, &[
                    Code::Required, Code::TooLong, Code::InvalidFirstCharacter,
                    Code::InvalidCharacter, Code::ReservedPrefix,
                ])?;
                prop_assert!(serde_json::from_str::<SecretName>(&serde_json::to_string(&raw).unwrap()).is_err());
            }
        }
    }

    #[test]
    fn usernames_and_passwords(
        user in around("[A-Za-z0-9][A-Za-z0-9._-]{0,35}"),
        password in prop_oneof![any::<String>(), ".{0,20}", "[a-z]{1000,1100}"],
    ) {
        match Username::parse(&user) {
            Ok(u) => {
                prop_assert!(re(r"\A[A-Za-z0-9][A-Za-z0-9._-]{2,31}\z").is_match(u.as_str()), "{:?}", &user);
                prop_assert_eq!(u.key(), user.to_ascii_lowercase());
            }
            Err(e) => refused_with(&e, &[
                Code::Required, Code::TooShort, Code::TooLong, Code::InvalidFirstCharacter,
                Code::InvalidCharacter,
            ])?,
        }
        let ok = password.chars().count() >= Password::MIN && password.len() <= Password::MAX_BYTES;
        match Password::check_new(&password) {
            Ok(()) => prop_assert!(ok),
            Err(e) => {
                prop_assert!(!ok);
                refused_with(&e, &[Code::TooShort, Code::TooLong])?;
                // The text is never echoed.
                if password.len() >= 4 {
                    prop_assert!(!e.message.contains(&password));
                }
            }
        }
    }

    /// Values reach a process whole; messages never hold the value; a text area's CRLF
    /// becomes LF once and for all.
    #[test]
    fn values_and_descriptions(
        body in prop_oneof![any::<String>(), "[a-z\0\r\n]{0,30}", Just(String::new())],
        max in 1usize..80,
        description in around(".{0,210}"),
    ) {
        let raw = format!("S3NT1N3L{body}");
        let value = SecretValue::new(raw.clone());
        match value.check(max) {
            Ok(()) => {
                prop_assert!(!raw.is_empty() && raw.len() <= max && !raw.contains('\0'));
                prop_assert!(os_passes(&[("V".into(), raw.clone())]));
            }
            Err(e) => {
                refused_with(&e, &[Code::Required, Code::TooLong, Code::NulByte])?;
                prop_assert!(!e.message.contains("S3NT1N3L"));
            }
        }
        // A browser sends each line break of a text area as CRLF: each becomes LF.
        let once = SecretValue::new(raw.clone()).from_text_area();
        prop_assert_eq!(once.expose(), raw.replace("\r\n", "\n"));
        match Description::check(&description) {
            Ok(()) => prop_assert!(
                description.chars().count() <= Description::MAX
                    && !description.chars().any(super::value::breaks_the_line)
            ),
            Err(e) => refused_with(&e, &[Code::TooLong, Code::ControlCharacter])?,
        }
        match projects::description(&description) {
            Ok(()) => prop_assert!(description.chars().count() <= projects::MAX_DESCRIPTION),
            Err(e) => refused_with(&e, &[Code::TooLong, Code::ControlCharacter])?,
        }
        match tokens::check_name(&description) {
            Ok(name) => prop_assert!(
                !name.is_empty() && name.chars().count() <= tokens::MAX_NAME_CHARS
                    && !name.chars().any(super::value::breaks_the_line)
            ),
            Err(e) => refused_with(&e, &[Code::Required, Code::TooLong, Code::ControlCharacter])?,
        }
    }

    /// Extra lines: what is accepted reaches a process exactly (literals) or names a Secret
    /// and key the API server accepts (references); what is refused names its lines in order;
    /// printed back as lines, the same entries.
    #[test]
    fn extra_environment_lines(lines in prop::collection::vec(around(extra_line()), 0..8)) {
        let text = lines.join("\n");
        let line_count = text.lines().count();
        match extra_env::parse(&text) {
            Ok(entries) => {
                let mut names = BTreeSet::new();
                let mut literals = Vec::new();
                for e in &entries {
                    prop_assert!(shell_name(&e.name), "{:?}", e.name);
                    prop_assert!(!e.name.to_ascii_uppercase().starts_with(RESERVED_PREFIX));
                    prop_assert!(names.insert(e.name.clone()), "{} twice", e.name);
                    match &e.source {
                        extra_env::EnvSource::Literal(v) => {
                            prop_assert!(v.len() <= extra_env::MAX_LITERAL);
                            literals.push((e.name.clone(), v.clone()));
                        }
                        extra_env::EnvSource::SecretRef { secret, key } => {
                            prop_assert!(k8s_subdomain(secret), "{:?}", secret);
                            prop_assert!(k8s_secret_key(key), "{:?}", key);
                        }
                    }
                }
                prop_assert!(os_passes(&literals), "{:?}", literals);
                let printed: Vec<String> = entries.iter().map(print_extra).collect();
                prop_assert_eq!(extra_env::parse(&printed.join("\n")), Ok(entries));
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                let numbers: Vec<usize> = errors.iter().map(|e| e.line).collect();
                prop_assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{:?}", numbers);
                for e in &errors {
                    prop_assert!((1..=line_count).contains(&e.line));
                    refused_with(&RuleError::new(e.code, e.message.clone()), &[
                        Code::MalformedLine, Code::MalformedReference, Code::Required,
                        Code::InvalidFirstCharacter, Code::InvalidCharacter, Code::ReservedPrefix,
                        Code::NulByte, Code::TooLong, Code::Duplicate, Code::NotADns1123Subdomain,
                        Code::ReservedName,
                    ])?;
                }
            }
        }
    }

    /// Mount directories: absolute, normalised (so checking again gives the same), outside
    /// every system directory, whole components only.
    #[test]
    fn mount_directories(raw in around(dir_like())) {
        match launch::mount_dir(&raw) {
            Ok(dir) => {
                prop_assert_eq!(launch::mount_dir(&dir), Ok(dir.clone()), "not stable: {:?}", &raw);
                let path = Path::new(&dir);
                prop_assert!(path.is_absolute());
                let parts: Vec<&str> = dir.split('/').skip(1).collect();
                prop_assert!(!parts.is_empty());
                for p in &parts {
                    prop_assert!(!p.is_empty() && *p != "." && *p != ".." && p.len() <= 255, "{:?}", &dir);
                }
                prop_assert!(path.components().skip(1).all(|c| matches!(c, Component::Normal(_))));
                prop_assert!(!dir.chars().any(char::is_control));
                let system = ["bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32",
                    "proc", "run", "sbin", "sys", "usr"];
                prop_assert!(!system.contains(&parts[0]), "{:?}", &dir);
                prop_assert!(!(parts[0] == "var" && parts.get(1) == Some(&"run")), "{:?}", &dir);
            }
            Err(e) => refused_with(&e, &[
                Code::Required, Code::TooLong, Code::ControlCharacter, Code::NotAbsolute,
                Code::ParentDirectory, Code::RootDirectory, Code::SystemDirectory,
            ])?,
        }
    }

    /// `--secret NAME[:env|:file][=TARGET]` (render and submit): a row printed that way reads
    /// back as the same row; nothing typed panics.
    #[test]
    fn secret_flags(
        secret in around(secret_name_like()),
        file in any::<bool>(),
        target in around("[A-Za-z0-9_.=:-]{0,12}"),
        raw in any::<String>(),
    ) {
        let _ = session::SecretChoice::from_flag(&raw);
        let mode = if file { session::InjectMode::File } else { session::InjectMode::Env };
        prop_assume!(!secret.contains('='));
        let printed = format!("{secret}:{}={target}", mode.as_str());
        let row = session::SecretChoice::from_flag(&printed);
        prop_assert_eq!(row.secret.as_deref(), Some(secret.as_str()));
        prop_assert_eq!(row.mode, mode);
        prop_assert_eq!(&row.name, &target);
    }

    /// Environments: what is accepted is what Kubernetes takes (a label as its name, a port, a
    /// quantity by the API's grammar) and a text area's lines read back the same.
    #[test]
    fn environment_definitions(form in environment_form(), area in any::<String>()) {
        match environments::validate(&form) {
            Ok(spec) => {
                prop_assert!(k8s_label(&spec.name), "{:?}", spec.name);
                prop_assert!(!spec.image.is_empty() && !spec.image.chars().any(char::is_whitespace));
                prop_assert!(spec.port != Some(0));
                for q in [&spec.cpu_request, &spec.memory_request, &spec.cpu_limit, &spec.memory_limit]
                    .into_iter()
                    .flatten()
                {
                    prop_assert!(K8S_QUANTITY.is_match(q), "{:?}", q);
                }
                for w in spec.command.iter().chain(&spec.args) {
                    prop_assert!(!w.contains('\0'));
                }
                prop_assert!(!spec.local_command.contains('\0'));
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                let fields = ["name", "description", "image", "command", "args", "local_command",
                    "port", "cpu_request", "memory_request", "cpu_limit", "memory_limit"];
                for e in &errors {
                    prop_assert!(fields.contains(&e.field.as_str()), "{:?}", e);
                    prop_assert!(every_code().contains(e.code.as_str()) && !e.message.is_empty());
                }
            }
        }
        let words = environments::lines(&area);
        prop_assert_eq!(environments::lines(&words.join("\n")), words);
    }

    /// Project names and the namespace prefix: the namespace they make is a DNS-1123 label.
    #[test]
    fn project_and_namespace_secret_names(
        prefix in around("[a-z0-9][-a-z0-9]{0,65}"),
        name in around(label_like()),
        secret in around(prop_oneof![subdomain_like(), "lockbox-s-[a-z0-9]{0,8}"]),
    ) {
        if let Err(e) = projects::prefix(&prefix) {
            refused_with(&e, &[Code::TooLong, Code::NotADns1123Label])?;
        } else {
            prop_assert!(prefix.is_empty() || k8s_label(&format!("{prefix}a")), "{:?}", &prefix);
            match projects::name(&prefix, &name) {
                Ok(()) => {
                    prop_assert!(k8s_label(&projects::namespace(&prefix, &name)));
                    prop_assert!(name != projects::DEFAULT_PROJECT);
                }
                Err(e) => refused_with(&e, &[
                    Code::Required, Code::TooLong, Code::NotADns1123Label, Code::ReservedName,
                ])?,
            }
        }
        match namespace_secrets::name(&secret) {
            Ok(()) => prop_assert!(k8s_subdomain(&secret) && !secret.starts_with("lockbox-s-")),
            Err(e) => refused_with(&e, &[
                Code::Required, Code::TooLong, Code::NotADns1123Subdomain, Code::ReservedPrefix,
            ])?,
        }
    }

    /// Tokens' and admin lists' inputs; a page cursor reads back as itself.
    #[test]
    fn tokens_filters_and_cursors(
        days in around("[0-9]{0,4}"),
        scopes in prop::collection::vec(around("(secrets:read|secrets:write|sessions)"), 0..4),
        text in around(".{0,140}"),
        at in any::<i64>(),
        id in "[0-9a-f-]{1,36}",
    ) {
        match tokens::check_expiry_days(&days) {
            Ok(d) => prop_assert!((1..=tokens::MAX_EXPIRY_DAYS).contains(&d)),
            Err(e) => refused_with(&e, &[Code::OutOfRange])?,
        }
        match tokens::check_scopes(&scopes) {
            Ok(s) => prop_assert!(!s.is_empty()),
            Err(e) => refused_with(&e, &[Code::Required, Code::InvalidChoice])?,
        }
        let cursor = admin_sessions::Cursor { at, id };
        prop_assert_eq!(admin_sessions::Cursor::parse(&cursor.encode()), Ok(cursor));
        if let Err(e) = admin_sessions::Cursor::parse(&text) {
            refused_with(&e, &[Code::InvalidCursor])?;
        }
        let filter = admin_sessions::FilterInput {
            user: text.clone(),
            environment: text.clone(),
            project: text.clone(),
            status: text.clone(),
            after: text.clone(),
            sort: text.clone(),
            dir: text.clone(),
        };
        check_fields(
            filter.check().err(),
            &["user", "environment", "project", "status", "after", "sort", "dir"],
        )?;
        check_fields(
            crate::model::admin_tokens::filter(&text, &text).err(),
            &["user", "after"],
        )?;
        match paging::search(&text) {
            Ok(q) => prop_assert!(q.chars().count() <= paging::MAX_SEARCH),
            Err(e) => refused_with(&e, &[Code::TooLong])?,
        }
        // Admin actions and checkboxes: a named action reads back as itself.
        let _ = super::users::checked(&text);
        if let Some(action) = super::users::UserAction::parse(&text) {
            prop_assert_eq!(action.as_str(), text.as_str());
        }
        match propagation::state_filter(&text) {
            Ok(s) => prop_assert!(s.is_empty() || propagation::STATES.contains(&s.as_str())),
            Err(e) => refused_with(&e, &[Code::InvalidChoice])?,
        }
    }

    /// Sortable admin lists: `sort`, `dir` and `after` are accepted only as the server writes
    /// them, refused with `invalid_choice` or `invalid_cursor` naming their field otherwise; a
    /// cursor reads back as itself in its own order and is refused in any other.
    #[test]
    fn sort_orders_and_their_cursors(
        column in around("(name|created|started|user|status)"),
        dir in around("(asc|desc)?"),
        after in around("(name|created|started|user|status)~(asc|desc)~-?[0-9a-z._-]{1,20}~[0-9a-z._-]{1,36}"),
        at in any::<i64>(),
        text_key in "[a-z0-9._-]{1,64}",
        id in "[a-z0-9._-]{1,64}",
        other in 0usize..6,
    ) {
        use super::sorting::{check, Column, Dir, Key, SessionColumn, Sort, SortCursor, UserColumn};
        fn each<C: Column>(
            column: &str, dir: &str, after: &str, at: i64, text_key: &str, id: &str, other: usize,
        ) -> Result<(), TestCaseError> {
            match check::<C>(column, dir, after) {
                Ok((sort, cursor)) => {
                    let column = column.trim();
                    prop_assert!(column.is_empty() || column == sort.column.as_str());
                    if let Some(c) = cursor {
                        prop_assert_eq!(c.sort, sort);
                        prop_assert_eq!(c.encode(), after.trim());
                    }
                }
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    for e in &errors {
                        let want = if e.field == "after" { Code::InvalidCursor } else { Code::InvalidChoice };
                        prop_assert!(["sort", "dir", "after"].contains(&e.field.as_str()), "{:?}", e);
                        prop_assert_eq!(e.code.as_str(), want.as_str());
                        prop_assert!(!e.message.is_empty());
                    }
                }
            }
            // Every order's cursor reads back, and only in that order.
            let orders: Vec<Sort<C>> = C::ALL
                .iter()
                .flat_map(|&column| Dir::ALL.map(|dir| Sort { column, dir }))
                .collect();
            let sort = orders[other % orders.len()];
            let key = match sort.column.key_kind() {
                super::sorting::KeyKind::Int => Key::Int(at),
                super::sorting::KeyKind::Text => Key::Text(text_key.to_string()),
            };
            let cursor = SortCursor { sort, key, id: id.to_string() };
            prop_assert_eq!(SortCursor::parse(&cursor.encode(), sort), Ok(cursor.clone()));
            for o in orders.iter().filter(|o| **o != sort) {
                let e = SortCursor::parse(&cursor.encode(), *o).unwrap_err();
                prop_assert_eq!(e.code, Code::InvalidCursor);
            }
            Ok(())
        }
        each::<UserColumn>(&column, &dir, &after, at, &text_key, &id, other)?;
        each::<SessionColumn>(&column, &dir, &after, at, &text_key, &id, other)?;
    }

    /// The launch as a whole: an accepted launch gives the session only valid, distinct names
    /// that a process receives exactly, a normalised mount directory, and at most the limit in
    /// bytes; a refused one names only the form's fields, each with a code.
    #[test]
    fn launch_validation_as_a_whole(input in launch_input()) {
        let LaunchInput { rows, mount, extra, known, environment, local, runs_locally, project, max } = input;
        let form = launch::LaunchForm {
            environment: &environment,
            project: "",
            rows: &rows,
            mount_dir: &mount,
            extra_env: &extra,
        };
        let ctx = launch::LaunchContext {
            environment: (!environment.is_empty()).then_some(launch::EnvironmentFacts {
                name: &environment,
                runs_locally,
            }),
            project: project.then_some(projects::DEFAULT_PROJECT),
            known: &known,
            backend: if local { launch::Backend::Local } else { launch::Backend::Kubernetes },
            max_session_bytes: max,
        };
        match launch::validate(&form, &ctx) {
            Ok(v) => {
                prop_assert!(v.total_bytes <= max);
                prop_assert_eq!(launch::mount_dir(&v.mount_dir), Ok(v.mount_dir.clone()));
                prop_assert_eq!(v.injections.len(), v.chosen.len());
                let mut secrets = BTreeSet::new();
                let mut files = BTreeSet::new();
                let mut vars: Vec<(String, String)> = Vec::new();
                for (inj, &k) in v.injections.iter().zip(&v.chosen) {
                    prop_assert_eq!(&known[k].name, &inj.secret);
                    prop_assert!(secrets.insert(inj.secret.to_ascii_lowercase()), "{} twice", inj.secret);
                    match inj.mode {
                        session::InjectMode::Env => {
                            prop_assert!(shell_name(&inj.target) && inj.target.len() <= 128);
                            prop_assert!(!session::RESERVED_ENV.contains(&inj.target.as_str()));
                            prop_assert!(!inj.target.to_ascii_uppercase().starts_with(RESERVED_PREFIX));
                            vars.push((inj.target.clone(), "secret value".into()));
                        }
                        session::InjectMode::File => {
                            prop_assert!(k8s_secret_key(&inj.target) && inj.target.len() <= 128);
                            prop_assert!(files.insert(inj.target.clone()), "file {} twice", inj.target);
                            let path = Path::new(&v.mount_dir).join(&inj.target);
                            prop_assert_eq!(path.parent(), Some(Path::new(&v.mount_dir)));
                        }
                    }
                }
                for e in &v.extra_env {
                    prop_assert!(!session::RESERVED_ENV.contains(&e.name.as_str()));
                    // A reference's value comes from the cluster; its name is one like the rest.
                    let value = match &e.source {
                        extra_env::EnvSource::Literal(value) => value.clone(),
                        extra_env::EnvSource::SecretRef { .. } => "from a Secret".into(),
                    };
                    vars.push((e.name.clone(), value));
                }
                let names: BTreeSet<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
                prop_assert_eq!(names.len(), vars.len(), "a variable set twice: {:?}", vars);
                prop_assert!(os_passes(&vars), "{:?}", vars);
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                let rows_fields: BTreeSet<String> = (0..rows.len()).map(session::row_field).collect();
                for e in &errors {
                    let known_field = ["project", "environment", "secrets", "mount_dir", "extra_env"]
                        .contains(&e.field.as_str())
                        || rows_fields.contains(&e.field);
                    prop_assert!(known_field, "{:?}", e);
                    prop_assert!(every_code().contains(e.code.as_str()), "{:?}", e);
                    prop_assert!(!e.message.is_empty());
                }
            }
        }
    }
}

fn check_fields(errors: Option<Vec<FieldError>>, fields: &[&str]) -> Result<(), TestCaseError> {
    for e in errors.into_iter().flatten() {
        prop_assert!(fields.contains(&e.field.as_str()), "{:?}", e);
        prop_assert!(every_code().contains(e.code.as_str()), "{:?}", e);
    }
    Ok(())
}

fn dir_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-z0-9._-]{1,12}",
            Just(String::new()),
            Just(".".to_string()),
            Just("..".to_string()),
            prop::sample::select(vec!["etc", "var", "run", "usr", "bin", "proc", "secrets"])
                .prop_map(str::to_string),
        ],
        0..6,
    )
    .prop_map(|parts| format!("/{}", parts.join("/")))
}

fn extra_line() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[A-Za-z_][A-Za-z0-9_]{0,10}", "[ -~]{0,20}").prop_map(|(n, v)| format!("{n}={v}")),
        ("[A-Z_]{1,6}", subdomain_like(), key_like())
            .prop_map(|(n, s, k)| format!("{n}=SECRET:{s},{k}")),
        Just("# a comment".to_string()),
        Just(String::new()),
        ("[A-Z]{1,3}", any::<String>()).prop_map(|(n, v)| format!("{n}={v}")),
    ]
}

/// An entry as a person would type it back.
fn print_extra(e: &extra_env::ExtraEnv) -> String {
    match &e.source {
        extra_env::EnvSource::Literal(v) => format!("{}={v}", e.name),
        extra_env::EnvSource::SecretRef { secret, key } => {
            format!("{}=SECRET:{secret},{key}", e.name)
        }
    }
}

/// A Kubernetes quantity by the API's grammar (`resource.Quantity`): a signed decimal number,
/// then a binary or decimal SI suffix or a decimal exponent.
static K8S_QUANTITY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\A[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+))?\z",
    )
});

fn environment_form() -> impl Strategy<Value = environments::EnvironmentForm> {
    let quantity = || around("[0-9]{1,4}(\\.[0-9]{1,2})?(m|Ki|Mi|Gi|k|M|G|e[0-9])?");
    (
        (
            around(label_like()),
            around(".{0,40}"),
            around("[a-z0-9./:@-]{1,40}"),
        ),
        (
            prop::collection::vec(around("[ -~]{0,12}"), 0..4),
            prop::collection::vec(around("[ -~]{0,12}"), 0..70),
            around("[0-9]{0,6}"),
            around("[ -~]{0,30}"),
        ),
        (quantity(), quantity(), quantity(), quantity()),
    )
        .prop_map(
            |((name, description, image), (command, args, port, local), (cr, mr, cl, ml))| {
                environments::EnvironmentForm {
                    name,
                    description,
                    image,
                    command,
                    args,
                    port,
                    local_command: local,
                    cpu_request: cr,
                    memory_request: mr,
                    cpu_limit: cl,
                    memory_limit: ml,
                }
            },
        )
}

#[derive(Debug, Clone)]
struct LaunchInput {
    rows: Vec<session::SecretChoice>,
    mount: String,
    extra: String,
    known: Vec<launch::KnownSecret>,
    environment: String,
    local: bool,
    runs_locally: bool,
    project: bool,
    max: usize,
}

fn launch_input() -> impl Strategy<Value = LaunchInput> {
    let known = prop::collection::btree_map("[A-D][A-D_]{0,2}", 0usize..400, 0..5).prop_map(
        |m: BTreeMap<String, usize>| {
            m.into_iter()
                .map(|(name, bytes)| launch::KnownSecret { name, bytes })
                .collect::<Vec<_>>()
        },
    );
    let row = (
        prop::option::of(around("[A-Da-d][A-D_]{0,2}")),
        any::<bool>(),
        prop_oneof![
            Just(String::new()),
            around("[A-Za-z_][A-Za-z0-9_.]{0,6}"),
            prop::sample::select(vec!["PORT", "SECRETS_DIR", "LOCKBOX_X", "..", "A", "B"])
                .prop_map(str::to_string),
        ],
    )
        .prop_map(|(secret, file, name)| session::SecretChoice {
            secret,
            mode: if file {
                session::InjectMode::File
            } else {
                session::InjectMode::Env
            },
            name,
        });
    (
        prop::collection::vec(row, 0..5),
        prop_oneof![Just(String::new()), around(dir_like())],
        prop::collection::vec(
            prop_oneof![
                around(extra_line()),
                prop::sample::select(vec![
                    "A=1",
                    "B=x\0y",
                    "PORT=1",
                    "SECRETS_DIR=/x",
                    "C=$(HOME)"
                ])
                .prop_map(str::to_string),
            ],
            0..4,
        )
        .prop_map(|l| l.join("\n")),
        known,
        prop_oneof![Just(String::new()), Just("demo".to_string())],
        (
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.9),
            0usize..1200,
        ),
    )
        .prop_map(
            |(rows, mount, extra, known, environment, (local, runs_locally, project, max))| {
                LaunchInput {
                    rows,
                    mount,
                    extra,
                    known,
                    environment,
                    local,
                    runs_locally,
                    project,
                    max,
                }
            },
        )
}
