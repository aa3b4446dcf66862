//! Configuration from `LOCKBOX_*` environment variables. Every secret setting also has a `*_FILE`
//! form that names a file holding the value (for container secrets).

use crate::{model::Limits, server::web::client_addr::TrustedProxies};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("set either {name} or {name}_FILE, not both")]
    Both { name: &'static str },
    #[error("cannot read {name}_FILE ({path}): {source}")]
    File {
        name: &'static str,
        path: String,
        source: std::io::Error,
    },
}

/// How SQLite flushes commits. `Full` syncs the WAL on every commit (survives power loss);
/// `Normal` survives a crash of the process but may lose the last commits on power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqliteSync {
    Full,
    Normal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret string setting; `Debug` hides it.
#[derive(Clone, Default)]
pub struct SecretSetting(pub zeroize::Zeroizing<String>);

impl std::fmt::Debug for SecretSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; a secret because it may hold a password.
    pub database_url: SecretSetting,
    pub listen: SocketAddr,
    /// Where Prometheus metrics are served (`LOCKBOX_METRICS_LISTEN`); off when unset. A
    /// listener of its own, so the public address never exposes them.
    pub metrics_listen: Option<SocketAddr>,
    pub master_key: Option<SecretSetting>,
    /// Keys still accepted for unwrapping while rotation moves everything to `master_key`
    /// (`LOCKBOX_PREVIOUS_MASTER_KEYS[_FILE]`: base64 keys separated by commas or newlines),
    /// each checked to be a well-formed key.
    pub previous_master_keys: Vec<SecretSetting>,
    /// How many wrapped keys one rewrap transaction moves (`LOCKBOX_REWRAP_BATCH`, 100).
    pub rewrap_batch: usize,
    /// The pause between two rewrap batches, so serving keeps the database
    /// (`LOCKBOX_REWRAP_PAUSE_MS`, 20).
    pub rewrap_pause: Duration,
    pub allow_signup: bool,
    pub secure_cookies: bool,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub limits: Limits,
    pub sqlite_sync: SqliteSync,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// Where cargo-leptos put the compiled site (wasm, js, css, public assets).
    pub site_root: PathBuf,
    /// Run sessions on Kubernetes (`LOCKBOX_KUBE=1`) rather than as local processes.
    pub kube: bool,
    /// The default project's namespace (where Kubernetes sessions went before projects).
    pub kube_namespace: String,
    /// A project's namespace is `<prefix><project>` (`LOCKBOX_PROJECT_NAMESPACE_PREFIX`,
    /// `lockbox-` by default; `runai-` for a Run:AI migration).
    pub project_namespace_prefix: String,
    /// Lockbox's own namespace, where cluster-wide source Secrets live
    /// (`LOCKBOX_SYSTEM_NAMESPACE`, `lockbox` by default).
    pub system_namespace: String,
    /// How often propagation of cluster-wide secrets re-reads everything to heal missed events
    /// (`LOCKBOX_PROPAGATION_RESYNC`, seconds or with an s/m/h suffix; 5 minutes by default).
    pub propagation_resync: Duration,
    /// Where the local backend keeps per-session secret directories; a memory-backed file
    /// system (`/dev/shm`) when there is one, else `<data dir>/run`.
    pub run_dir: Option<PathBuf>,
    /// Most sessions one user may have starting or running at once.
    pub max_live_sessions: usize,
    /// Local sessions run in a bubblewrap sandbox; `LOCKBOX_LOCAL_SANDBOX=off` runs them
    /// uncontained (one-user development only).
    pub local_sandbox: bool,
    /// Host uids local sessions run as when the server is root, one per session.
    pub session_uids: std::ops::RangeInclusive<u32>,
    /// Whether local sessions may open connections out through the host (pasta
    /// `--config-net`); off by default, when only the session's own port is forwarded in.
    pub session_outbound: bool,
    /// Proxies whose `X-Forwarded-For` is believed (`LOCKBOX_TRUSTED_PROXIES`); none by default.
    pub trusted_proxies: TrustedProxies,
    /// How long the server waits for a request (`LOCKBOX_BODY_TIMEOUT_MS`, 30 s): a head not in
    /// by then ends the connection (`web::serve`); a body that pauses longer, or is not complete
    /// by then, is answered 408 (`web::body_timeout`).
    pub body_timeout: Duration,
}

/// Session uids by default: 65536 ids above what useradd hands out as sub-uid ranges
/// (100000-600100000) and systemd-nspawn's container range (524288-1879048191). The local
/// backend also refuses a range that /etc/subuid, /etc/subgid, /etc/passwd or /etc/group use.
const DEFAULT_SESSION_UIDS: &str = "1879048192-1879113727";

/// Reads the environment through a lookup function so tests can pass a map.
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.is_empty())
    }

    /// A secret setting: `NAME` or the content of the file named by `NAME_FILE` (trimmed).
    pub fn secret(&self, name: &'static str) -> Result<Option<SecretSetting>, ConfigError> {
        let direct = self.get(name);
        let file = self.get(&format!("{name}_FILE"));
        match (direct, file) {
            (Some(_), Some(_)) => Err(ConfigError::Both { name }),
            (Some(v), None) => Ok(Some(SecretSetting(v.into()))),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::File {
                    name,
                    path,
                    source,
                })?;
                Ok(Some(SecretSetting(text.trim().to_string().into())))
            }
            (None, None) => Ok(None),
        }
    }

    /// A secret list of master keys: base64 keys separated by commas or newlines. An entry that
    /// is not a key is reported by its position, never by its text.
    fn key_list(&self, name: &'static str) -> Result<Vec<SecretSetting>, ConfigError> {
        let Some(text) = self.secret(name)? else {
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        for (i, entry) in split_key_list(&text.0).into_iter().enumerate() {
            if let Err(e) = crate::server::crypto::Kek::from_base64(&entry) {
                return Err(ConfigError::Invalid {
                    name,
                    reason: format!(
                        "entry {} is not a master key: {e} (each must be 32 random bytes in \
                         base64, separated by commas or newlines)",
                        i + 1
                    ),
                });
            }
            keys.push(SecretSetting(entry));
        }
        Ok(keys)
    }

    fn parse<T: std::str::FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        Ok(self.parse_optional(name)?.unwrap_or(default))
    }

    /// A setting with no default: unset is `None`.
    fn parse_optional<T: std::str::FromStr>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(name)
            .map(|raw| {
                raw.trim()
                    .parse()
                    .map_err(|e: T::Err| ConfigError::Invalid {
                        name,
                        reason: format!("{e} (got {raw:?})"),
                    })
            })
            .transpose()
    }

    /// A whole number from 0 to `max`.
    fn at_most(&self, name: &'static str, default: u64, max: u64) -> Result<u64, ConfigError> {
        match self.parse(name, default)? {
            n if n <= max => Ok(n),
            n => Err(ConfigError::Invalid {
                name,
                reason: format!("expected at most {max}, got {n}"),
            }),
        }
    }

    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(ConfigError::Invalid {
                name,
                reason: format!("expected true or false, got {v:?}"),
            }),
        }
    }

    /// A duration: whole seconds, or a number with an `s`, `m` or `h` suffix; 10 s to 24 h.
    fn duration(&self, name: &'static str, default_secs: u64) -> Result<Duration, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(Duration::from_secs(default_secs));
        };
        let text = raw.trim();
        let (digits, unit) = match text.char_indices().last() {
            Some((i, 's')) => (&text[..i], 1),
            Some((i, 'm')) => (&text[..i], 60),
            Some((i, 'h')) => (&text[..i], 3600),
            _ => (text, 1),
        };
        let secs = digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .filter(|s| (10..=86_400).contains(s))
            .ok_or_else(|| ConfigError::Invalid {
                name,
                reason: format!(
                    "expected a duration from 10s to 24h, like 300, 90s or 5m (got {raw:?})"
                ),
            })?;
        Ok(Duration::from_secs(secs))
    }

    /// `FIRST-LAST` host uids for sessions: above the system range, at most 2^20 of them.
    fn uid_range(&self, name: &'static str) -> Result<std::ops::RangeInclusive<u32>, ConfigError> {
        let raw = self
            .get(name)
            .unwrap_or_else(|| DEFAULT_SESSION_UIDS.into());
        let invalid = |reason: &str| ConfigError::Invalid {
            name,
            reason: format!("{reason} (got {raw:?})"),
        };
        let (first, last) = raw
            .trim()
            .split_once('-')
            .ok_or_else(|| invalid("expected FIRST-LAST"))?;
        let first: u32 = first.trim().parse().map_err(|_| invalid("not a number"))?;
        let last: u32 = last.trim().parse().map_err(|_| invalid("not a number"))?;
        if first < 1000 || first > last || last >= u32::MAX - 1 {
            return Err(invalid(
                "FIRST must be at least 1000 and not above LAST, LAST below 4294967294",
            ));
        }
        Ok(first..=last)
    }

    pub fn config(&self) -> Result<Config, ConfigError> {
        let data_dir = PathBuf::from(
            self.get("LOCKBOX_DATA_DIR")
                .unwrap_or_else(|| "./data".into()),
        );
        let database_url = match self.secret("LOCKBOX_DATABASE_URL")? {
            Some(url) => url,
            None => {
                SecretSetting(format!("sqlite://{}", data_dir.join("lockbox.db").display()).into())
            }
        };
        let url = database_url.0.as_str();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                name: "LOCKBOX_DATABASE_URL",
                reason: "must start with sqlite:, postgres:// or postgresql://".into(),
            });
        }
        let defaults = Limits::default();
        let limits = Limits {
            max_value_bytes: self.parse("LOCKBOX_MAX_VALUE_BYTES", defaults.max_value_bytes)?,
            max_secrets_per_user: self
                .parse("LOCKBOX_MAX_SECRETS", defaults.max_secrets_per_user)?,
            max_session_bytes: self
                .parse("LOCKBOX_MAX_SESSION_BYTES", defaults.max_session_bytes)?,
        };
        if limits.max_value_bytes == 0 || limits.max_value_bytes > defaults.max_session_bytes {
            return Err(ConfigError::Invalid {
                name: "LOCKBOX_MAX_VALUE_BYTES",
                reason: "must be between 1 and 1048576".into(),
            });
        }
        let sqlite_sync = match self.get("LOCKBOX_SQLITE_SYNCHRONOUS").as_deref() {
            None | Some("full") | Some("FULL") => SqliteSync::Full,
            Some("normal") | Some("NORMAL") => SqliteSync::Normal,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "LOCKBOX_SQLITE_SYNCHRONOUS",
                    reason: format!("expected full or normal, got {other:?}"),
                })
            }
        };
        let log_format = match self.get("LOCKBOX_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "LOCKBOX_LOG_FORMAT",
                    reason: format!("expected text or json, got {other:?}"),
                })
            }
        };
        let kube_namespace = self
            .get("LOCKBOX_KUBE_NAMESPACE")
            .unwrap_or_else(|| "lockbox-sessions".into());
        crate::model::rules::dns1123_label(&kube_namespace).map_err(|m| ConfigError::Invalid {
            name: "LOCKBOX_KUBE_NAMESPACE",
            reason: format!("a namespace name (DNS-1123 label) {m}"),
        })?;
        let project_namespace_prefix = self
            .get("LOCKBOX_PROJECT_NAMESPACE_PREFIX")
            .unwrap_or_else(|| crate::model::projects::DEFAULT_PREFIX.into());
        crate::model::projects::prefix(&project_namespace_prefix).map_err(|m| {
            ConfigError::Invalid {
                name: "LOCKBOX_PROJECT_NAMESPACE_PREFIX",
                reason: format!("a namespace prefix {m}"),
            }
        })?;
        let system_namespace = self
            .get("LOCKBOX_SYSTEM_NAMESPACE")
            .unwrap_or_else(|| "lockbox".into());
        crate::model::rules::dns1123_label(&system_namespace).map_err(|m| {
            ConfigError::Invalid {
                name: "LOCKBOX_SYSTEM_NAMESPACE",
                reason: format!("a namespace name (DNS-1123 label) {m}"),
            }
        })?;
        // The default project, open to every user, resolves references in its namespace:
        // Lockbox's own (its Secrets, the cluster-wide sources) must never be that.
        if system_namespace == kube_namespace {
            return Err(ConfigError::Invalid {
                name: "LOCKBOX_SYSTEM_NAMESPACE",
                reason: format!(
                    "{system_namespace:?} is also LOCKBOX_KUBE_NAMESPACE, the default project's \
                     namespace; Lockbox's own namespace must be another"
                ),
            });
        }
        // At most a year: larger numbers overflowed the seconds (and the login-session
        // store's i64 milliseconds), so a typed "forever" became a few minutes.
        let idle_minutes = self.at_most("LOCKBOX_SESSION_IDLE_MINUTES", 60, 366 * 24 * 60)?;
        let absolute_hours = self.at_most("LOCKBOX_SESSION_ABSOLUTE_HOURS", 12, 366 * 24)?;
        Ok(Config {
            listen: self.parse("LOCKBOX_LISTEN", SocketAddr::from(([127, 0, 0, 1], 3000)))?,
            metrics_listen: self.parse_optional("LOCKBOX_METRICS_LISTEN")?,
            master_key: self.secret("LOCKBOX_MASTER_KEY")?,
            previous_master_keys: self.key_list("LOCKBOX_PREVIOUS_MASTER_KEYS")?,
            rewrap_batch: match self.parse("LOCKBOX_REWRAP_BATCH", 100usize)? {
                n @ 1..=10_000 => n,
                n => {
                    return Err(ConfigError::Invalid {
                        name: "LOCKBOX_REWRAP_BATCH",
                        reason: format!("expected 1 to 10000, got {n}"),
                    })
                }
            },
            rewrap_pause: Duration::from_millis(self.parse("LOCKBOX_REWRAP_PAUSE_MS", 20u64)?),
            allow_signup: self.flag("LOCKBOX_ALLOW_SIGNUP", false)?,
            secure_cookies: self.flag("LOCKBOX_SECURE_COOKIES", false)?,
            session_idle: Duration::from_secs(idle_minutes.max(1) * 60),
            session_absolute: Duration::from_secs(absolute_hours.max(1) * 3600),
            limits,
            sqlite_sync,
            log_format,
            log_filter: self.get("LOCKBOX_LOG").unwrap_or_else(|| "info".into()),
            site_root: PathBuf::from(
                self.get("LOCKBOX_SITE_ROOT")
                    .or_else(|| self.get("LEPTOS_SITE_ROOT"))
                    .unwrap_or_else(|| "target/site".into()),
            ),
            kube: self.flag("LOCKBOX_KUBE", false)?,
            kube_namespace,
            project_namespace_prefix,
            system_namespace,
            propagation_resync: self.duration("LOCKBOX_PROPAGATION_RESYNC", 300)?,
            run_dir: self.get("LOCKBOX_RUN_DIR").map(PathBuf::from),
            max_live_sessions: self.parse("LOCKBOX_MAX_LIVE_SESSIONS", 10)?,
            local_sandbox: self.flag("LOCKBOX_LOCAL_SANDBOX", true)?,
            session_uids: self.uid_range("LOCKBOX_SESSION_UIDS")?,
            session_outbound: match self.get("LOCKBOX_SESSION_NETWORK").as_deref() {
                None | Some("none") => false,
                Some("outbound") => true,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "LOCKBOX_SESSION_NETWORK",
                        reason: format!("expected none or outbound, got {other:?}"),
                    })
                }
            },
            trusted_proxies: self.parse("LOCKBOX_TRUSTED_PROXIES", TrustedProxies::default())?,
            body_timeout: match self.parse("LOCKBOX_BODY_TIMEOUT_MS", 30_000u64)? {
                ms @ 100..=600_000 => Duration::from_millis(ms),
                ms => {
                    return Err(ConfigError::Invalid {
                        name: "LOCKBOX_BODY_TIMEOUT_MS",
                        reason: format!("expected 100 to 600000 (milliseconds), got {ms}"),
                    })
                }
            },
            data_dir,
            database_url,
        })
    }
}

/// The entries of a key list (commas or newlines; blanks ignored).
pub fn split_key_list(text: &str) -> Vec<zeroize::Zeroizing<String>> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| zeroize::Zeroizing::new(e.to_string()))
        .collect()
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Env(|name: &str| std::env::var(name).ok()).config()
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.0.starts_with("postgres")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env(move |name: &str| map.get(name).cloned()).config()
    }

    #[test]
    fn previous_master_keys_are_a_checked_list_that_never_echoes_a_key() {
        use base64::Engine;
        let a = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let b = base64::engine::general_purpose::STANDARD.encode([2u8; 32]);
        assert!(config(&[]).unwrap().previous_master_keys.is_empty());
        let list = format!(" {a} ,\n{b}\n\n");
        let c = config(&[("LOCKBOX_PREVIOUS_MASTER_KEYS", list.as_str())]).unwrap();
        let got: Vec<&str> = c
            .previous_master_keys
            .iter()
            .map(|k| k.0.as_str())
            .collect();
        assert_eq!(got, [a.as_str(), b.as_str()]);
        let short = base64::engine::general_purpose::STANDARD.encode([3u8; 16]);
        let bad = format!("{a},{short}");
        let e = config(&[("LOCKBOX_PREVIOUS_MASTER_KEYS", bad.as_str())])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("LOCKBOX_PREVIOUS_MASTER_KEYS") && e.contains("entry 2"),
            "{e}"
        );
        assert!(!e.contains(&short) && !e.contains(&a), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("previous");
        std::fs::write(&path, format!("{a}\n{b}\n")).unwrap();
        let c = config(&[("LOCKBOX_PREVIOUS_MASTER_KEYS_FILE", path.to_str().unwrap())]).unwrap();
        assert_eq!(c.previous_master_keys.len(), 2);
        assert_eq!(config(&[]).unwrap().rewrap_batch, 100);
        let e = config(&[("LOCKBOX_REWRAP_BATCH", "0")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOCKBOX_REWRAP_BATCH"), "{e}");
    }

    #[test]
    fn project_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(c.project_namespace_prefix, "lockbox-");
        assert_eq!(c.system_namespace, "lockbox");
        assert_eq!(c.propagation_resync, Duration::from_secs(300));
        let c = config(&[
            ("LOCKBOX_PROJECT_NAMESPACE_PREFIX", "runai-"),
            ("LOCKBOX_PROPAGATION_RESYNC", "90s"),
        ])
        .unwrap();
        assert_eq!(c.project_namespace_prefix, "runai-");
        assert_eq!(c.propagation_resync, Duration::from_secs(90));
        assert_eq!(
            config(&[("LOCKBOX_PROPAGATION_RESYNC", "2m")])
                .unwrap()
                .propagation_resync,
            Duration::from_secs(120)
        );
        for bad in ["0", "5", "1d", "m", "25h", "-5m"] {
            let err = config(&[("LOCKBOX_PROPAGATION_RESYNC", bad)]).unwrap_err();
            assert!(
                err.to_string().contains("LOCKBOX_PROPAGATION_RESYNC"),
                "{bad}: {err}"
            );
        }
        let err = config(&[("LOCKBOX_PROJECT_NAMESPACE_PREFIX", "Runai_")]).unwrap_err();
        assert!(
            err.to_string().contains("LOCKBOX_PROJECT_NAMESPACE_PREFIX"),
            "{err}"
        );
        let err = config(&[("LOCKBOX_SYSTEM_NAMESPACE", "Lockbox")]).unwrap_err();
        assert!(
            err.to_string().contains("LOCKBOX_SYSTEM_NAMESPACE"),
            "{err}"
        );
        let err = config(&[
            ("LOCKBOX_SYSTEM_NAMESPACE", "shared"),
            ("LOCKBOX_KUBE_NAMESPACE", "shared"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("default project"), "{err}");
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.database_url.0.as_str(), "sqlite://./data/lockbox.db");
        assert!(!c.allow_signup);
        assert!(c.master_key.is_none());
        assert_eq!(c.metrics_listen, None);
        // The numbers README's configuration table documents, not the code's own defaults.
        assert_eq!(c.session_idle, Duration::from_secs(60 * 60));
        assert_eq!(c.session_absolute, Duration::from_secs(12 * 3600));
        assert_eq!(c.body_timeout, Duration::from_secs(30));
        assert_eq!(
            c.limits,
            Limits {
                max_value_bytes: 65536,
                max_secrets_per_user: 100,
                max_session_bytes: 1048576,
            }
        );
    }

    #[test]
    fn metrics_listen_is_an_address_when_set() {
        let c = config(&[("LOCKBOX_METRICS_LISTEN", "127.0.0.1:9464")]).unwrap();
        assert_eq!(
            c.metrics_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9464)))
        );
        let e = config(&[("LOCKBOX_METRICS_LISTEN", "9464")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOCKBOX_METRICS_LISTEN"), "{e}");
    }

    #[test]
    fn file_form_of_a_secret_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "abc\n").unwrap();
        let c = config(&[("LOCKBOX_MASTER_KEY_FILE", path.to_str().unwrap())]).unwrap();
        assert_eq!(c.master_key.unwrap().0.as_str(), "abc");
        let both = config(&[
            ("LOCKBOX_MASTER_KEY_FILE", path.to_str().unwrap()),
            ("LOCKBOX_MASTER_KEY", "x"),
        ]);
        assert!(matches!(both, Err(ConfigError::Both { .. })));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = config(&[("LOCKBOX_LISTEN", "nope")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOCKBOX_LISTEN"), "{e}");
        let e = config(&[("LOCKBOX_ALLOW_SIGNUP", "maybe")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOCKBOX_ALLOW_SIGNUP"), "{e}");
        let e = config(&[("LOCKBOX_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOCKBOX_TRUSTED_PROXIES"), "{e}");
        let e = config(&[("LOCKBOX_DATABASE_URL", "mysql://x")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOCKBOX_DATABASE_URL"), "{e}");
        for bad in ["0", "99", "600001", "5s"] {
            let e = config(&[("LOCKBOX_BODY_TIMEOUT_MS", bad)])
                .unwrap_err()
                .to_string();
            assert!(e.contains("LOCKBOX_BODY_TIMEOUT_MS"), "{bad}: {e}");
        }
        let c = config(&[("LOCKBOX_BODY_TIMEOUT_MS", "250")]).unwrap();
        assert_eq!(c.body_timeout, Duration::from_millis(250));
    }

    /// Found while writing the fuzzing invariants (fuzz/corpus/config): a huge timeout
    /// overflowed its seconds (a panic with overflow checks, a few minutes without) or the
    /// login-session store's i64 milliseconds. Each is refused, naming its variable.
    #[test]
    fn session_timeouts_are_bounded() {
        for (name, bad) in [
            ("LOCKBOX_SESSION_IDLE_MINUTES", "307445734561825861"),
            ("LOCKBOX_SESSION_IDLE_MINUTES", "527041"),
            ("LOCKBOX_SESSION_ABSOLUTE_HOURS", "3000000000000"),
            ("LOCKBOX_SESSION_ABSOLUTE_HOURS", "8785"),
        ] {
            let e = config(&[(name, bad)]).map(|c| c.session_idle).unwrap_err();
            assert!(e.to_string().contains(name), "{bad}: {e}");
        }
        let c = config(&[
            ("LOCKBOX_SESSION_IDLE_MINUTES", "527040"),
            ("LOCKBOX_SESSION_ABSOLUTE_HOURS", "8784"),
        ])
        .unwrap();
        assert_eq!(c.session_idle, Duration::from_secs(527_040 * 60));
        assert_eq!(c.session_absolute, Duration::from_secs(8_784 * 3600));
    }

    #[test]
    fn sandbox_settings() {
        let c = config(&[]).unwrap();
        assert!(c.local_sandbox);
        assert_eq!(c.session_uids, 1_879_048_192..=1_879_113_727);
        assert!(!c.session_outbound);
        let c = config(&[
            ("LOCKBOX_LOCAL_SANDBOX", "off"),
            ("LOCKBOX_SESSION_UIDS", "200000-200009"),
            ("LOCKBOX_SESSION_NETWORK", "outbound"),
        ])
        .unwrap();
        assert!(!c.local_sandbox);
        assert_eq!(c.session_uids, 200000..=200009);
        assert!(c.session_outbound);
        for bad in ["0-10", "5000", "9-8000", "2000-1999", "x-y"] {
            let e = config(&[("LOCKBOX_SESSION_UIDS", bad)]).unwrap_err();
            assert!(e.to_string().contains("LOCKBOX_SESSION_UIDS"), "{bad}: {e}");
        }
        assert!(config(&[("LOCKBOX_SESSION_NETWORK", "all")]).is_err());
    }

    #[test]
    fn debug_hides_secret_settings() {
        let c = config(&[("LOCKBOX_MASTER_KEY", "sentinel-key")]).unwrap();
        assert!(!format!("{c:?}").contains("sentinel-key"));
    }
}

#[cfg(test)]
mod proptests {
    //! Configuration values from generated environments: a setting that is accepted means
    //! what it says, one that is refused is named, and a key's text is never echoed.

    use super::*;
    use crate::model::proptests::{around, k8s_label, label_like};
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn number() -> BoxedStrategy<String> {
        prop_oneof![
            "[0-9]{1,3}",
            "[0-9]{15,22}",
            Just(u64::MAX.to_string()),
            "-?[0-9]{1,5}",
        ]
        .boxed()
    }

    fn setting() -> impl Strategy<Value = (&'static str, String)> {
        prop_oneof![
            number().prop_map(|v| ("LOCKBOX_SESSION_IDLE_MINUTES", v)),
            number().prop_map(|v| ("LOCKBOX_SESSION_ABSOLUTE_HOURS", v)),
            number().prop_map(|v| ("LOCKBOX_MAX_VALUE_BYTES", v)),
            number().prop_map(|v| ("LOCKBOX_MAX_SESSION_BYTES", v)),
            number().prop_map(|v| ("LOCKBOX_REWRAP_BATCH", v)),
            around("[0-9]{1,6}[smh]?").prop_map(|v| ("LOCKBOX_PROPAGATION_RESYNC", v)),
            around("[0-9]{3,10}-[0-9]{3,10}").prop_map(|v| ("LOCKBOX_SESSION_UIDS", v)),
            around(label_like()).prop_map(|v| ("LOCKBOX_KUBE_NAMESPACE", v)),
            around(label_like()).prop_map(|v| ("LOCKBOX_SYSTEM_NAMESPACE", v)),
            around("[a-z0-9-]{0,70}").prop_map(|v| ("LOCKBOX_PROJECT_NAMESPACE_PREFIX", v)),
            around("(true|false|on|off|1|0)").prop_map(|v| ("LOCKBOX_ALLOW_SIGNUP", v)),
            around("(none|outbound)").prop_map(|v| ("LOCKBOX_SESSION_NETWORK", v)),
            ".{0,40}".prop_map(|v| ("LOCKBOX_PREVIOUS_MASTER_KEYS", format!("S3NT1N3L{v}"))),
        ]
    }

    proptest! {
        #[test]
        fn configuration_values(settings in prop::collection::vec(setting(), 0..6)) {
            let map: HashMap<String, String> =
                settings.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            let lookup = map.clone();
            match Env(move |name: &str| lookup.get(name).cloned()).config() {
                Ok(c) => {
                    let minutes = |name: &str, default: u128| {
                        map.get(name).map_or(default, |v| v.trim().parse::<u128>().unwrap()).max(1)
                    };
                    prop_assert_eq!(
                        c.session_idle.as_secs() as u128,
                        minutes("LOCKBOX_SESSION_IDLE_MINUTES", 60) * 60,
                        "{:?}", map
                    );
                    prop_assert_eq!(
                        c.session_absolute.as_secs() as u128,
                        minutes("LOCKBOX_SESSION_ABSOLUTE_HOURS", 12) * 3600,
                        "{:?}", map
                    );
                    prop_assert!((10..=86_400).contains(&c.propagation_resync.as_secs()));
                    let uids = c.session_uids.clone();
                    prop_assert!(*uids.start() >= 1000 && uids.start() <= uids.end());
                    prop_assert!(*uids.end() < u32::MAX - 1);
                    prop_assert!(k8s_label(&c.kube_namespace) && k8s_label(&c.system_namespace));
                    prop_assert!(c.kube_namespace != c.system_namespace);
                    let prefix = &c.project_namespace_prefix;
                    prop_assert!(prefix.is_empty() || k8s_label(&format!("{prefix}a")), "{:?}", prefix);
                    prop_assert!((1..=1_048_576).contains(&c.limits.max_value_bytes));
                    prop_assert!((1..=10_000).contains(&c.rewrap_batch));
                }
                Err(e) => {
                    let text = e.to_string();
                    prop_assert!(!text.contains("S3NT1N3L"), "{}", text);
                    match e {
                        ConfigError::Invalid { name, .. } => {
                            prop_assert!(map.contains_key(name), "{} was not set: {}", name, text)
                        }
                        other => prop_assert!(false, "{other}"),
                    }
                }
            }
        }
    }
}
