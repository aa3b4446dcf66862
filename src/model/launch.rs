//! Launch-form rules that do not depend on a backend: the mount directory, and escaping an
//! inline environment value for Kubernetes. (The launch form itself is the next issue; these
//! are its first, self-contained pieces.)

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
pub fn mount_dir(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("Mount directory is required.".into());
    }
    if raw.len() > MAX_MOUNT_DIR {
        return Err(format!(
            "Mount directory must be at most {MAX_MOUNT_DIR} bytes."
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err("Mount directory must not contain control characters.".into());
    }
    if !raw.starts_with('/') {
        return Err("Mount directory must be an absolute path (starting with /).".into());
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("Mount directory must not contain '..'.".into()),
            _ => parts.push(part),
        }
    }
    let Some(first) = parts.first() else {
        return Err("Mount directory must not be / (the root).".into());
    };
    let system = SYSTEM_DIRS.contains(first) || (parts.len() >= 2 && parts[..2] == ["var", "run"]);
    if system {
        let dir = if *first == "var" {
            "/var/run".to_string()
        } else {
            format!("/{first}")
        };
        return Err(format!(
            "Mount directory must not be inside the system directory {dir}."
        ));
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Escapes an inline environment value so Kubernetes passes it literally. Kubernetes expands
/// `$(NAME)` in `env[].value` and turns `$$` into `$`, so every `$` is doubled.
pub fn escape_env_value(value: &str) -> String {
    value.replace('$', "$$")
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
            assert!(e.contains("system directory"), "{bad}: {e}");
        }
        assert!(mount_dir("/var/run/x").unwrap_err().contains("/var/run"));
        assert!(mount_dir("/bin/x").unwrap_err().contains("/bin"));
    }

    #[test]
    fn refuses_root_relative_dotdot_and_junk() {
        assert!(mount_dir("/").unwrap_err().contains("root"));
        assert!(mount_dir("//").unwrap_err().contains("root"));
        assert!(mount_dir("/.").unwrap_err().contains("root"));
        assert!(mount_dir("secrets").unwrap_err().contains("absolute"));
        assert!(mount_dir("./secrets").unwrap_err().contains("absolute"));
        assert!(mount_dir("/secrets/../etc").unwrap_err().contains(".."));
        assert!(mount_dir("/a\0b").unwrap_err().contains("control"));
        assert!(mount_dir("").unwrap_err().contains("required"));
        assert!(mount_dir(&format!("/{}", "a".repeat(1024)))
            .unwrap_err()
            .contains("1024"));
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
}
