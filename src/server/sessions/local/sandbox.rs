//! The sandbox command line, built as data: `pasta` gives the session a network namespace of
//! its own (its port forwarded from the host's loopback) and runs `bwrap`, which runs the
//! session's command in new user, PID, mount, IPC and UTS namespaces with no capabilities.
//! Pure: the host's layout comes in as an argument, so every argument is unit-tested.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};
use zeroize::Zeroizing;

/// The uid and gid a session sees itself as (the restricted profile's, as on Kubernetes).
pub const SANDBOX_ID: u32 = 65532;
/// The session's home and working directory: a private, memory-backed, writable directory.
pub const HOME: &str = "/home/lockbox";
pub const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Top-level directories that hold programs and libraries: on merged-/usr systems they are
/// symlinks into `/usr`, elsewhere directories bound read-only.
pub const TOP_LEVEL: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// What of `/etc` a session sees (read-only, when present): the dynamic linker's cache,
/// Debian's alternatives (many commands in /usr/bin link there), CA certificates, time zone,
/// name-service switch, hosts and resolver configuration. Nothing else of `/etc`.
pub const ETC: [&str; 10] = [
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ssl/certs",
    "/etc/ca-certificates",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/resolv.conf",
];

/// How one top-level directory looks on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopLevel {
    /// A symlink with this target (`usr/bin`).
    Symlink(PathBuf),
    Dir,
    Absent,
}

/// The host's layout, read once at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostLayout {
    pub top: Vec<(&'static str, TopLevel)>,
    /// Absolute paths of the sandbox tools.
    pub pasta: PathBuf,
    pub bwrap: PathBuf,
}

impl HostLayout {
    /// Reads the top-level directories and finds the tools on the standard system paths.
    pub fn probe() -> Self {
        let top = TOP_LEVEL
            .iter()
            .map(|name| {
                let path = Path::new("/").join(name);
                let kind = match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.file_type().is_symlink() => std::fs::read_link(&path)
                        .map(TopLevel::Symlink)
                        .unwrap_or(TopLevel::Absent),
                    Ok(m) if m.is_dir() => TopLevel::Dir,
                    _ => TopLevel::Absent,
                };
                (*name, kind)
            })
            .collect();
        Self {
            top,
            pasta: find_tool("pasta"),
            bwrap: find_tool("bwrap"),
        }
    }
}

fn find_tool(name: &str) -> PathBuf {
    ["/usr/bin", "/usr/local/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| Path::new("/usr/bin").join(name))
}

/// One session's sandbox.
pub struct Plan<'a> {
    pub layout: &'a HostLayout,
    /// The host directory holding the session's secret files.
    pub secrets_dir: &'a Path,
    /// Where the session sees them (`/secrets` by default).
    pub mount_dir: &'a str,
    /// The session's `PORT`, the same number inside and on the host's loopback.
    pub port: Option<u16>,
    /// Outbound connections through the host (pasta `--config-net`).
    pub outbound: bool,
    pub command: &'a str,
    /// The file descriptor `bwrap --args` reads the environment from.
    pub env_fd: i32,
}

/// The program to run and its arguments.
pub struct Built {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// What `env_fd` carries: NUL-separated `--setenv NAME VALUE` triples for every variable the
/// session gets, so values never appear on a command line, where every host user could read
/// them in `/proc/<pid>/cmdline`. A NUL inside a name or value would end its field early and
/// make the rest bwrap options, so it is refused here whatever the callers checked.
pub fn env_args(env: &[(&str, &str)]) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut out = Zeroizing::new(Vec::new());
    for (name, value) in env {
        if name.contains('\0') || value.contains('\0') {
            return Err(format!("the variable {name:?} holds a NUL byte"));
        }
        for part in [b"--setenv".as_slice(), name.as_bytes(), value.as_bytes()] {
            out.extend_from_slice(part);
            out.push(0);
        }
    }
    Ok(out)
}

fn push(a: &mut Vec<OsString>, items: &[&str]) {
    a.extend(items.iter().map(OsString::from));
}

impl Plan<'_> {
    /// The whole command line.
    pub fn build(&self) -> Built {
        let mut a: Vec<OsString> = Vec::new();
        // pasta: a network namespace, the port forwarded from the host's loopback only, no
        // other forwarding in either direction, and no mapping of the gateway to the host.
        push(&mut a, &["--quiet", "--foreground", "--no-map-gw"]);
        if self.outbound {
            push(&mut a, &["--config-net"]);
        }
        let tcp = match self.port {
            Some(p) => format!("127.0.0.1/{p}:{p}"),
            None => "none".into(),
        };
        push(
            &mut a,
            &["-t", &tcp, "-u", "none", "-T", "none", "-U", "none", "--"],
        );
        a.push(self.layout.bwrap.clone().into());
        let sandbox_id = SANDBOX_ID.to_string();
        push(
            &mut a,
            &[
                "--unshare-all",
                // Named again for --disable-userns, which needs it spelt out: the session may
                // not make user namespaces of its own (a kernel attack surface it never needs).
                "--unshare-user",
                "--disable-userns",
                "--share-net",
                "--die-with-parent",
                "--new-session",
                "--cap-drop",
                "ALL",
                "--uid",
                &sandbox_id,
                "--gid",
                &sandbox_id,
                "--hostname",
                "lockbox",
                "--ro-bind",
                "/usr",
                "/usr",
            ],
        );
        for (name, kind) in &self.layout.top {
            let inside = format!("/{name}");
            match kind {
                TopLevel::Symlink(target) => {
                    a.push("--symlink".into());
                    a.push(target.clone().into());
                    a.push(inside.into());
                }
                TopLevel::Dir => {
                    a.push("--ro-bind".into());
                    a.push(inside.clone().into());
                    a.push(inside.into());
                }
                TopLevel::Absent => {}
            }
        }
        for etc in ETC {
            push(&mut a, &["--ro-bind-try", etc, etc]);
        }
        push(
            &mut a,
            &[
                "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", HOME, "--chdir",
                HOME,
            ],
        );
        // Last, so a mount directory under /tmp or the home lands on top of them.
        a.push("--ro-bind".into());
        a.push(self.secrets_dir.into());
        a.push(self.mount_dir.into());
        a.push("--remount-ro".into());
        a.push("/".into());
        a.push("--clearenv".into());
        a.push("--args".into());
        a.push(self.env_fd.to_string().into());
        a.extend(["/bin/sh", "-c", self.command].map(OsString::from));
        Built {
            program: self.layout.pasta.clone(),
            args: a,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> HostLayout {
        HostLayout {
            top: vec![
                ("bin", TopLevel::Symlink("usr/bin".into())),
                ("sbin", TopLevel::Dir),
                ("lib32", TopLevel::Absent),
            ],
            pasta: "/usr/bin/pasta".into(),
            bwrap: "/usr/bin/bwrap".into(),
        }
    }

    fn args(plan: &Plan) -> Vec<String> {
        plan.build()
            .args
            .iter()
            .map(|a| a.to_str().unwrap().to_string())
            .collect()
    }

    fn has(args: &[String], seq: &[&str]) -> bool {
        args.windows(seq.len()).any(|w| w == seq)
    }

    fn plan<'a>(layout: &'a HostLayout, port: Option<u16>, outbound: bool) -> Plan<'a> {
        Plan {
            layout,
            secrets_dir: Path::new("/dev/shm/lockbox-1/abc"),
            mount_dir: "/secrets",
            port,
            outbound,
            command: "exec sleep 1",
            env_fd: 7,
        }
    }

    #[test]
    fn pasta_forwards_only_the_port_from_loopback() {
        let l = layout();
        let a = args(&plan(&l, Some(4321), false));
        assert_eq!(a[..3], ["--quiet", "--foreground", "--no-map-gw"]);
        assert!(has(&a, &["-t", "127.0.0.1/4321:4321"]));
        assert!(has(&a, &["-u", "none", "-T", "none", "-U", "none", "--"]));
        assert!(
            !a.contains(&"--config-net".to_string()),
            "no outbound by default"
        );
        let a = args(&plan(&l, None, true));
        assert!(has(&a, &["-t", "none"]));
        assert!(a.contains(&"--config-net".to_string()));
    }

    #[test]
    fn bwrap_contains_the_session() {
        let l = layout();
        let built = plan(&l, None, false).build();
        assert_eq!(built.program, Path::new("/usr/bin/pasta"));
        let a = args(&plan(&l, None, false));
        let bwrap = a.iter().position(|x| x == "/usr/bin/bwrap").unwrap();
        assert_eq!(a[bwrap - 1], "--", "pasta runs bwrap");
        let b = &a[bwrap..];
        for seq in [
            &[
                "--unshare-all",
                "--unshare-user",
                "--disable-userns",
                "--share-net",
            ][..],
            &["--die-with-parent", "--new-session"],
            &["--cap-drop", "ALL"],
            &["--uid", "65532", "--gid", "65532"],
            &["--ro-bind", "/usr", "/usr"],
            &["--symlink", "usr/bin", "/bin"],
            &["--ro-bind", "/sbin", "/sbin"],
            &["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"],
            &["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"],
            &["--tmpfs", HOME, "--chdir", HOME],
            &["--ro-bind", "/dev/shm/lockbox-1/abc", "/secrets"],
            &["--remount-ro", "/", "--clearenv", "--args", "7"],
        ] {
            assert!(has(b, seq), "{seq:?} missing from {b:?}");
        }
        assert!(!b.iter().any(|x| x.contains("lib32")));
        assert_eq!(b[b.len() - 3..], ["/bin/sh", "-c", "exec sleep 1"]);
        // Nothing of the host beyond the documented list: every bind source is /usr, a
        // top-level system directory, a listed /etc entry or the session's own directory.
        for w in b.windows(2) {
            if w[0] == "--ro-bind" || w[0] == "--ro-bind-try" || w[0] == "--bind" {
                let src = w[1].as_str();
                assert!(
                    src == "/usr"
                        || TOP_LEVEL.iter().any(|t| src == format!("/{t}"))
                        || ETC.contains(&src)
                        || src == "/dev/shm/lockbox-1/abc",
                    "unexpected host path {src}"
                );
            }
        }
        assert!(!b.contains(&"--bind".to_string()), "nothing writable");
    }

    #[test]
    fn values_travel_on_the_fd_not_the_command_line() {
        let payload = env_args(&[("A", "va lue"), ("SECRETS_DIR", "/s")]).unwrap();
        assert!(env_args(&[("A", "x\0--bind\0/\0/host")]).is_err());
        assert_eq!(
            payload.as_slice(),
            b"--setenv\0A\0va lue\0--setenv\0SECRETS_DIR\0/s\0"
        );
    }
}
