//! The launch rules: [`validate`] checks a whole launch (every field, every limit, what the
//! backend can do) and is the only place that does. The launch service, `lockbox sessions
//! render` and any other client call it, so each applies the same checks. Also the mount
//! directory rule, and escaping an inline environment value for Kubernetes.

use super::{
    extra_env::{self, EnvSource, ExtraEnv},
    projects,
    session::{self, Injection, SecretChoice},
    Code, FieldError, RuleError, SecretName,
};

/// Top-level directories a session may not mount secrets into (or under). `/var/run` is
/// checked separately, as it is two components deep.
const SYSTEM_DIRS: [&str; 13] = [
    "bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "run", "sbin", "sys",
    "usr",
];

/// The longest mount directory accepted.
pub const MAX_MOUNT_DIR: usize = 1024;

/// Checks a mount directory and returns it normalised (no empty or `.` components, no trailing
/// slash). The rules compare whole path components, so `/binary` is allowed while `/bin/x` is not.
pub fn mount_dir(raw: &str) -> Result<String, RuleError> {
    let refuse = |code, message: &str| Err(RuleError::new(code, message));
    if raw.is_empty() {
        return refuse(Code::Required, "Mount directory is required.");
    }
    if raw.len() > MAX_MOUNT_DIR {
        return Err(RuleError::new(
            Code::TooLong,
            format!("Mount directory must be at most {MAX_MOUNT_DIR} bytes."),
        ));
    }
    if raw.chars().any(super::value::breaks_the_line) {
        return refuse(
            Code::ControlCharacter,
            "Mount directory must be one line without control characters.",
        );
    }
    if !raw.starts_with('/') {
        return refuse(
            Code::NotAbsolute,
            "Mount directory must be an absolute path (starting with /).",
        );
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return refuse(
                    Code::ParentDirectory,
                    "Mount directory must not contain '..'.",
                )
            }
            // NAME_MAX: a longer component could never be created.
            long if long.len() > 255 => {
                return refuse(
                    Code::TooLong,
                    "Each part of the mount directory must be at most 255 bytes.",
                )
            }
            _ => parts.push(part),
        }
    }
    let Some(first) = parts.first() else {
        return refuse(
            Code::RootDirectory,
            "Mount directory must not be / (the root).",
        );
    };
    let system = SYSTEM_DIRS.contains(first) || (parts.len() >= 2 && parts[..2] == ["var", "run"]);
    if system {
        let dir = if *first == "var" {
            "/var/run".to_string()
        } else {
            format!("/{first}")
        };
        return Err(RuleError::new(
            Code::SystemDirectory,
            format!("Mount directory must not be inside the system directory {dir}."),
        ));
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Escapes an inline environment value so Kubernetes passes it literally. Kubernetes expands
/// `$(NAME)` in `env[].value` and turns `$$` into `$`, so every `$` is doubled.
pub fn escape_env_value(value: &str) -> String {
    value.replace('$', "$$")
}

/// The default mount directory.
pub const DEFAULT_MOUNT_DIR: &str = "/secrets";

/// Where the session would run; some features need Kubernetes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Local,
    Kubernetes,
}

/// What the launch knows of the chosen environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvironmentFacts<'a> {
    pub name: &'a str,
    /// Whether it has a command to run as a local process.
    pub runs_locally: bool,
}

/// One of the user's secrets as far as a launch needs it: its name and its value's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownSecret {
    pub name: String,
    pub bytes: usize,
}

/// The form as typed.
#[derive(Clone, Copy, Debug, Default)]
pub struct LaunchForm<'a> {
    pub environment: &'a str,
    pub project: &'a str,
    pub rows: &'a [SecretChoice],
    /// Empty means [`DEFAULT_MOUNT_DIR`].
    pub mount_dir: &'a str,
    pub extra_env: &'a str,
}

/// What the form is checked against.
#[derive(Clone, Copy, Debug)]
pub struct LaunchContext<'a> {
    /// `None` when there is no environment of that name.
    pub environment: Option<EnvironmentFacts<'a>>,
    /// The chosen project (see [`projects::chosen`]) when it exists; `None` when there is no
    /// project of that name. Whether the user may use it is decided before validation, by
    /// [`projects::launch_access`], so that a refusal says nothing of the project.
    pub project: Option<&'a str>,
    /// The user's secrets (names are matched ignoring case, as they are unique that way).
    pub known: &'a [KnownSecret],
    pub backend: Backend,
    /// Most bytes (secret values and inline values together) one session may receive.
    pub max_session_bytes: usize,
}

/// A launch that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidLaunch {
    pub injections: Vec<Injection>,
    /// For each injection, the index of its secret in [`LaunchContext::known`].
    pub chosen: Vec<usize>,
    /// Normalised.
    pub mount_dir: String,
    pub extra_env: Vec<ExtraEnv>,
    /// What the session receives, in bytes (secret values, and names and values of inline
    /// variables; a `SECRET:` reference counts nothing here: on Kubernetes its value stays in
    /// the cluster, and the embedded default counts a namespace secret's value at start).
    pub total_bytes: usize,
}

/// Checks a whole launch and reports every broken rule at once, each on its field.
pub fn validate(
    form: &LaunchForm<'_>,
    ctx: &LaunchContext<'_>,
) -> Result<ValidLaunch, Vec<FieldError>> {
    let mut errors = Vec::new();
    if ctx.project.is_none() {
        errors.push(FieldError::new(
            "project",
            RuleError::new(
                Code::Unknown,
                projects::unknown_message(projects::chosen(form.project)),
            ),
        ));
    }
    match ctx.environment {
        None => errors.push(FieldError::new(
            "environment",
            if form.environment.trim().is_empty() {
                RuleError::new(Code::Required, "Choose an environment.")
            } else {
                RuleError::new(
                    Code::Unknown,
                    format!("There is no environment named {:?}.", form.environment),
                )
            },
        )),
        Some(env) if ctx.backend == Backend::Local && !env.runs_locally => {
            errors.push(FieldError::new(
                "environment",
                RuleError::new(
                    Code::Unsupported,
                    format!(
                        "The environment {} has no local command, so it cannot run on this \
                         server.",
                        env.name
                    ),
                ),
            ))
        }
        Some(_) => {}
    }
    let index_of = |name: &str| {
        let key = SecretName::parse(name).ok()?.key();
        ctx.known
            .iter()
            .position(|k| k.name.eq_ignore_ascii_case(&key))
    };
    let mut injections = session::check_choices(form.rows, |name| index_of(name).is_some())
        .map_err(|e| errors.extend(e))
        .unwrap_or_default();
    let chosen: Vec<usize> = injections
        .iter()
        .filter_map(|i| index_of(&i.secret))
        .collect();
    // Recorded under the name as stored, whatever case was typed.
    for (i, &k) in injections.iter_mut().zip(&chosen) {
        i.secret = ctx.known[k].name.clone();
    }
    let raw_mount = match form.mount_dir.trim() {
        "" => DEFAULT_MOUNT_DIR,
        m => m,
    };
    let mount_dir = mount_dir(raw_mount)
        .map_err(|m| errors.push(FieldError::new("mount_dir", m)))
        .unwrap_or_default();
    let extra = match extra_env::parse(form.extra_env) {
        Ok(extra) => {
            if let Err(m) = session::check_extra_env_names(&injections, &extra) {
                errors.push(FieldError::new("extra_env", m));
            }
            extra
        }
        // One field error for the text area, its message naming every broken line; its code
        // is the first broken line's.
        Err(lines) => {
            let text: Vec<String> = lines
                .iter()
                .map(|l| format!("Line {}: {}.", l.line, l.message))
                .collect();
            errors.push(FieldError::new(
                "extra_env",
                RuleError::new(lines[0].code, text.join(" ")),
            ));
            Vec::new()
        }
    };
    let inline: usize = extra
        .iter()
        .map(|e| match &e.source {
            EnvSource::Literal(v) => e.name.len() + v.len(),
            EnvSource::SecretRef { .. } => 0,
        })
        .sum();
    let total_bytes = chosen.iter().map(|&i| ctx.known[i].bytes).sum::<usize>() + inline;
    let max = ctx.max_session_bytes;
    if total_bytes > max {
        errors.push(FieldError::new(
            "secrets",
            RuleError::new(
                Code::LimitExceeded,
                format!(
                    "Together the chosen secrets and extra values are {total_bytes} bytes; a \
                     session can receive at most {max} bytes ({} KiB).",
                    max / 1024
                ),
            ),
        ));
    }
    if errors.is_empty() {
        Ok(ValidLaunch {
            injections,
            chosen,
            mount_dir,
            extra_env: extra,
            total_bytes,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(mount_dir("/secrets").unwrap(), "/secrets");
        assert_eq!(mount_dir("/secrets/").unwrap(), "/secrets");
        assert_eq!(mount_dir("//home//me/./keys/").unwrap(), "/home/me/keys");
        assert_eq!(mount_dir("/var/lib/app").unwrap(), "/var/lib/app");
        assert_eq!(mount_dir("/opt/run").unwrap(), "/opt/run");
    }

    #[test]
    fn compares_whole_components() {
        // Look-alike prefixes of system directories are ordinary directories.
        for ok in [
            "/binary",
            "/etcetera",
            "/usr2",
            "/library",
            "/runner",
            "/var/runner",
            "/devices",
            "/var",
        ] {
            assert!(mount_dir(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_system_directories_and_their_insides() {
        for bad in [
            "/bin",
            "/bin/x",
            "/etc/",
            "/etc",
            "/etc/secrets",
            "/usr/local/x",
            "/proc/1",
            "/sys",
            "/dev/shm",
            "/lib",
            "/lib64/x",
            "/lib32",
            "/libx32/y",
            "/sbin/",
            "/boot/efi",
            "/run",
            "/run/secrets",
            "/var/run",
            "/var/run/x",
            "//etc",
            "/./etc/x",
        ] {
            let e = mount_dir(bad).unwrap_err();
            assert_eq!(e.code, Code::SystemDirectory, "{bad}: {e}");
        }
        // The message names the directory.
        assert!(mount_dir("/var/run/x")
            .unwrap_err()
            .message
            .contains("/var/run"));
        assert!(mount_dir("/bin/x").unwrap_err().message.contains("/bin"));
    }

    #[test]
    fn refuses_a_component_no_file_system_can_hold() {
        let long = format!("/{}", "a".repeat(256));
        assert_eq!(mount_dir(&long).unwrap_err().code, Code::TooLong);
        assert!(mount_dir(&format!("/{}", "a".repeat(255))).is_ok());
    }

    #[test]
    fn refuses_root_relative_dotdot_and_junk() {
        let code = |raw: &str| mount_dir(raw).unwrap_err().code;
        assert_eq!(code("/"), Code::RootDirectory);
        assert_eq!(code("//"), Code::RootDirectory);
        assert_eq!(code("/."), Code::RootDirectory);
        assert_eq!(code("secrets"), Code::NotAbsolute);
        assert_eq!(code("./secrets"), Code::NotAbsolute);
        assert_eq!(code("/secrets/../etc"), Code::ParentDirectory);
        assert_eq!(code("/a\0b"), Code::ControlCharacter);
        assert_eq!(code(""), Code::Required);
        assert_eq!(code(&format!("/{}", "a".repeat(1024))), Code::TooLong);
    }

    /// Kubernetes' expansion of `env[].value`: `$$` becomes `$`, `$(NAME)` is replaced when NAME
    /// is defined (here every name is, as "X"), anything else stays as written.
    fn kube_expand(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'$' && i + 1 < b.len() {
                if b[i + 1] == b'$' {
                    out.push('$');
                    i += 2;
                    continue;
                }
                if b[i + 1] == b'(' {
                    if let Some(end) = s[i + 2..].find(')') {
                        out.push('X');
                        i += 2 + end + 1;
                        continue;
                    }
                }
            }
            out.push(b[i] as char);
            i += 1;
        }
        out
    }

    #[test]
    fn escaped_values_come_out_literally() {
        for v in [
            "plain", "$(HOME)", "a$(B)c", "$$(HOME)", "$", "$$", "cost: $5", "$(", "x$$$(Y)",
        ] {
            assert_eq!(kube_expand(&escape_env_value(v)), v, "{v}");
        }
        // Unescaped, the reference would be expanded: the escaping is what keeps it.
        assert_ne!(kube_expand("$(HOME)"), "$(HOME)");
    }

    fn known() -> Vec<KnownSecret> {
        vec![
            KnownSecret {
                name: "DB_PASSWORD".into(),
                bytes: 600 * 1024,
            },
            KnownSecret {
                name: "TLS_KEY".into(),
                bytes: 500 * 1024,
            },
        ]
    }

    fn row(secret: &str, mode: InjectMode, name: &str) -> SecretChoice {
        SecretChoice {
            secret: Some(secret.into()),
            mode,
            name: name.into(),
        }
    }

    fn ctx<'a>(known: &'a [KnownSecret], backend: Backend) -> LaunchContext<'a> {
        LaunchContext {
            environment: Some(EnvironmentFacts {
                name: "demo",
                runs_locally: true,
            }),
            project: Some(projects::DEFAULT_PROJECT),
            known,
            backend,
            max_session_bytes: 1024 * 1024,
        }
    }

    fn fields(e: &[FieldError]) -> Vec<&str> {
        e.iter().map(|f| f.field.as_str()).collect()
    }

    use super::super::session::InjectMode;

    #[test]
    fn a_good_launch_is_normalised() {
        let known = known();
        let rows = [
            row("db_password", InjectMode::Env, "PGPASSWORD"),
            SecretChoice::default(),
        ];
        let form = LaunchForm {
            environment: "demo",
            rows: &rows,
            extra_env: "MODE=x\nREF=SECRET:team-creds,token",
            ..Default::default()
        };
        let ok = validate(&form, &ctx(&known, Backend::Kubernetes)).unwrap();
        assert_eq!(ok.mount_dir, DEFAULT_MOUNT_DIR);
        assert_eq!(ok.chosen, [0]);
        assert_eq!(ok.injections[0].secret, "DB_PASSWORD");
        assert_eq!(ok.injections[0].target, "PGPASSWORD");
        assert_eq!(ok.total_bytes, 600 * 1024 + "MODE".len() + 1);
        assert_eq!(ok.extra_env.len(), 2);
    }

    #[test]
    fn every_broken_rule_is_reported_on_its_field() {
        let known = known();
        let rows = [row("NOPE", InjectMode::Env, "")];
        let form = LaunchForm {
            environment: "gone",
            project: "p",
            rows: &rows,
            mount_dir: "/etc",
            extra_env: "9=1",
        };
        let mut c = ctx(&known, Backend::Local);
        c.environment = None;
        c.project = None;
        let e = validate(&form, &c).unwrap_err();
        assert_eq!(
            fields(&e),
            [
                "project",
                "environment",
                "secret-0",
                "mount_dir",
                "extra_env"
            ]
        );
        let codes: Vec<&str> = e.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "unknown",
                "unknown",
                "unknown",
                "system_directory",
                "invalid_first_character"
            ]
        );
        assert!(e[1].message.contains("no environment named \"gone\""));
        assert_eq!(e[0].message, "There is no project named \"p\".");
    }

    #[test]
    fn a_known_project_passes_and_an_unknown_one_is_named() {
        let known = known();
        let form = LaunchForm {
            environment: "demo",
            project: "ml",
            ..Default::default()
        };
        let mut c = ctx(&known, Backend::Local);
        c.project = Some("ml");
        assert!(validate(&form, &c).is_ok());
        c.project = None;
        let e = validate(&form, &c).unwrap_err();
        assert_eq!(fields(&e), ["project"]);
        assert_eq!(e[0].message, "There is no project named \"ml\".");
        // An empty choice is the default project.
        let form = LaunchForm {
            environment: "demo",
            ..Default::default()
        };
        let e = validate(&form, &c).unwrap_err();
        assert_eq!(e[0].message, "There is no project named \"default\".");
    }

    #[test]
    fn size_counts_values_and_inline_text_exactly_at_the_limit() {
        let known = vec![KnownSecret {
            name: "A".into(),
            bytes: 100,
        }];
        let rows = [row("A", InjectMode::File, "a")];
        // "X=" + value: the name's 1 byte and the value count.
        for (extra, ok) in [(27, true), (28, false)] {
            let text = format!("X={}", "v".repeat(extra));
            let form = LaunchForm {
                environment: "demo",
                rows: &rows,
                extra_env: &text,
                ..Default::default()
            };
            let mut c = ctx(&known, Backend::Kubernetes);
            c.max_session_bytes = 128;
            let got = validate(&form, &c);
            assert_eq!(got.is_ok(), ok, "{extra}: {got:?}");
            if let Err(e) = got {
                assert_eq!(fields(&e), ["secrets"]);
                assert!(e[0].message.contains("129 bytes"), "{}", e[0].message);
            }
        }
        // Two large secrets together exceed 1 MiB.
        let known = super::tests::known();
        let rows = [
            row("DB_PASSWORD", InjectMode::Env, ""),
            row("TLS_KEY", InjectMode::File, ""),
        ];
        let form = LaunchForm {
            environment: "demo",
            rows: &rows,
            ..Default::default()
        };
        let e = validate(&form, &ctx(&known, Backend::Kubernetes)).unwrap_err();
        assert_eq!(fields(&e), ["secrets"]);
    }

    #[test]
    fn references_pass_on_both_backends_and_local_commands_are_checked() {
        let known = known();
        let form = LaunchForm {
            environment: "demo",
            extra_env: "REF=SECRET:team-creds,token",
            ..Default::default()
        };
        // Whether the reference resolves is the backend's judgement (model::references), made
        // against what it holds: Kubernetes Secrets, or the embedded default's namespace
        // secrets.
        for backend in [Backend::Local, Backend::Kubernetes] {
            let ok = validate(&form, &ctx(&known, backend)).unwrap();
            assert_eq!(ok.total_bytes, 0);
        }
        let mut c = ctx(&known, Backend::Local);
        c.environment = Some(EnvironmentFacts {
            name: "image-only",
            runs_locally: false,
        });
        let form = LaunchForm {
            environment: "image-only",
            ..Default::default()
        };
        assert_eq!(fields(&validate(&form, &c).unwrap_err()), ["environment"]);
        c.backend = Backend::Kubernetes;
        assert!(validate(&form, &c).is_ok());
    }

    /// Property-style: whatever the rows say, an accepted launch injects only known secrets,
    /// each once, under valid and distinct names, and its total is within the limit.
    #[test]
    fn accepted_launches_keep_the_invariants() {
        let known = vec![
            KnownSecret {
                name: "A".into(),
                bytes: 10,
            },
            KnownSecret {
                name: "B".into(),
                bytes: 20,
            },
            KnownSecret {
                name: "C".into(),
                bytes: 30,
            },
        ];
        let secrets = ["A", "b", "C", "D", "", "a"];
        let names = ["", "", "X", "x.y", "..", ".", "PORT", "LOCKBOX_A", "A", "9"];
        let modes = [InjectMode::Env, InjectMode::File];
        let mut accepted = 0;
        // A small linear congruential generator: varied, and the same on every run.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        for _ in 0..2000 {
            let count = 1 + next(3);
            let rows: Vec<SecretChoice> = (0..count)
                .map(|_| {
                    row(
                        secrets[next(secrets.len())],
                        modes[next(2)],
                        names[next(names.len())],
                    )
                })
                .collect();
            let form = LaunchForm {
                environment: "demo",
                rows: &rows,
                ..Default::default()
            };
            let mut c = ctx(&known, Backend::Kubernetes);
            c.max_session_bytes = 50;
            let Ok(ok) = validate(&form, &c) else {
                continue;
            };
            accepted += 1;
            assert!(ok.total_bytes <= 50);
            let mut seen = std::collections::BTreeSet::new();
            for (inj, &k) in ok.injections.iter().zip(&ok.chosen) {
                assert_eq!(known[k].name, inj.secret);
                assert!(seen.insert(inj.secret.clone()), "{rows:?}");
                match inj.mode {
                    InjectMode::Env => session::check_env_target(&inj.target).unwrap(),
                    InjectMode::File => crate::model::rules::file_name(&inj.target).unwrap(),
                }
            }
        }
        assert!(
            accepted > 0,
            "no case was accepted: the generator is useless"
        );
    }
}
