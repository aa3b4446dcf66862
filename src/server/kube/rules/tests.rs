use super::*;
use crate::server::kube::{
    fixtures,
    manifests::{build, Objects},
};
use k8s_openapi::{api::core::v1::EnvVar, ByteString};

fn good() -> Objects {
    build(&fixtures::full(), fixtures::full_values(), "uid-1").unwrap()
}

/// Breaks a good object set and returns the violations found.
fn broken(f: impl FnOnce(&mut Objects)) -> Vec<String> {
    let mut o = good();
    f(&mut o);
    check(&o)
}

fn assert_one(violations: Vec<String>, needle: &str) {
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains(needle), "{violations:?}");
}

fn pod_spec(o: &mut Objects) -> &mut k8s_openapi::api::core::v1::PodSpec {
    o.pod.spec.as_mut().unwrap()
}

#[test]
fn built_objects_pass() {
    assert_eq!(check(&good()), Vec::<String>::new());
    let bare = build(
        &fixtures::bare(),
        crate::server::sessions::spec::Values(vec![]),
        "u",
    )
    .unwrap();
    assert_eq!(check(&bare), Vec::<String>::new());
}

#[test]
fn name_syntax() {
    assert_one(
        broken(|o| o.pod.metadata.name = Some("Bad_Name".into())),
        "Pod name",
    );
    assert_one(
        broken(|o| o.secret.as_mut().unwrap().metadata.name = Some("-x".into())),
        "Secret name",
    );
    // Fine for a Pod, not for a Service (DNS-1035 needs a leading letter).
    assert_one(
        broken(|o| o.service.as_mut().unwrap().metadata.name = Some("0abc".into())),
        "DNS-1035",
    );
    assert_one(
        broken(|o| o.pod.metadata.namespace = Some("a.b".into())),
        "namespace",
    );
}

#[test]
fn label_keys_and_values() {
    let labels = |o: &mut Objects| o.pod.metadata.labels.as_mut().unwrap().clone();
    assert_one(
        broken(|o| {
            let mut l = labels(o);
            l.insert("bad key!".into(), "x".into());
            o.pod.metadata.labels = Some(l);
        }),
        "label key",
    );
    assert_one(
        broken(|o| {
            let mut l = labels(o);
            l.insert("lockbox.dev/user".into(), "someone@example.com".into());
            o.pod.metadata.labels = Some(l);
        }),
        "value of label lockbox.dev/user",
    );
    assert_one(
        broken(|o| {
            let spec = o.service.as_mut().unwrap().spec.as_mut().unwrap();
            spec.selector = Some([("k".to_string(), "x".repeat(64))].into());
        }),
        "Service selector",
    );
}

#[test]
fn secret_keys_and_size() {
    assert_one(
        broken(|o| {
            let data = o.secret.as_mut().unwrap().data.as_mut().unwrap();
            data.insert("env.A B".into(), ByteString(b"x".to_vec()));
        }),
        "Secret key",
    );
    // Exactly 1 MiB is accepted, one byte more is not.
    let sized = |n: usize| {
        broken(|o| {
            let data = o.secret.as_mut().unwrap().data.as_mut().unwrap();
            let used: usize = data.values().map(|v| v.0.len()).sum();
            data.insert("file.big".into(), ByteString(vec![b'x'; n - used]));
        })
    };
    assert_eq!(sized(MAX_SECRET_SIZE), Vec::<String>::new());
    assert_one(sized(MAX_SECRET_SIZE + 1), "1048577 bytes");
}

#[test]
fn env_var_names() {
    let push = |name: &str| {
        let name = name.to_string();
        broken(move |o| {
            pod_spec(o).containers[0]
                .env
                .as_mut()
                .unwrap()
                .push(EnvVar {
                    name,
                    value: Some("v".into()),
                    ..Default::default()
                })
        })
    };
    assert_one(push(""), "non-empty");
    assert_one(push("A=B"), "without '='");
    assert_one(push("A\u{e9}"), "printable ASCII");
    assert_one(
        push("DB_PASSWORD"),
        "env var \"DB_PASSWORD\" appears more than once",
    );
    // Kubernetes no longer needs C identifiers.
    assert_eq!(push("my.var-1"), Vec::<String>::new());
    assert_one(
        broken(|o| {
            let env = pod_spec(o).containers[0].env.as_mut().unwrap();
            let r = env[4]
                .value_from
                .as_mut()
                .unwrap()
                .secret_key_ref
                .as_mut()
                .unwrap();
            r.key = "bad key".into();
        }),
        "secret reference",
    );
}

#[test]
fn volumes_and_mounts() {
    assert_one(
        broken(|o| {
            let vols = pod_spec(o).volumes.as_mut().unwrap();
            vols.push(vols[0].clone());
        }),
        "volume name \"tmp\" appears more than once",
    );
    let mut v = broken(|o| {
        let c = &mut pod_spec(o).containers[0];
        c.volume_mounts.as_mut().unwrap()[1].mount_path = "/tmp".into();
    });
    v.sort();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("mount path \"/tmp\""), "{v:?}");
    assert_one(
        broken(|o| {
            let c = &mut pod_spec(o).containers[0];
            c.volume_mounts.as_mut().unwrap()[0].name = "nowhere".into();
        }),
        "unknown volume",
    );
    let item_path = |path: &str| {
        let path = path.to_string();
        broken(move |o| {
            let vols = pod_spec(o).volumes.as_mut().unwrap();
            let items = vols[1].secret.as_mut().unwrap().items.as_mut().unwrap();
            items[0].path = path;
        })
    };
    assert_one(item_path("/etc/passwd"), "relative");
    assert_one(item_path("a/../../b"), "relative");
    assert_eq!(item_path("sub/dir.key"), Vec::<String>::new());
}

#[test]
fn owner_references_need_a_uid() {
    assert_one(
        broken(|o| {
            let s = o.secret.as_mut().unwrap();
            s.metadata.owner_references.as_mut().unwrap()[0].uid = String::new();
        }),
        "owner reference",
    );
}

/// One rule for Secret keys and file names, answered the same everywhere: the launch form's
/// file names, the extra lines' `SECRET:` keys, and the check of built objects (which once
/// accepted `..` as a reference key while the form refused it as a file name).
#[test]
fn secret_keys_are_answered_the_same_everywhere() {
    use crate::model::{extra_env, rules as names, session};
    let table = [
        ".", "..", "..x", "...", "..data", "a..b", ".x", "x.", "x", "-", "_", "a/b", "a b", "",
        "ü", "tls.key",
    ];
    for key in table {
        let rule = names::secret_key(key).is_ok();
        let as_file = session::check_file_name(key).is_ok();
        let as_reference = extra_env::parse(&format!("X=SECRET:s,{key}")).is_ok();
        let in_objects = broken(|o| {
            let env = pod_spec(o).containers[0].env.as_mut().unwrap();
            env.push(EnvVar {
                name: "REF".into(),
                value_from: Some(k8s_openapi::api::core::v1::EnvVarSource {
                    secret_key_ref: Some(k8s_openapi::api::core::v1::SecretKeySelector {
                        name: "s".into(),
                        key: key.into(),
                        optional: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
        })
        .is_empty();
        assert_eq!(
            [as_file, as_reference, in_objects],
            [rule; 3],
            "{key:?}: the rule says {rule}"
        );
    }
    // Names: the reference's Secret name, the namespace and environment name rules agree.
    for name in ["a", "a.b", "a..b", "-a", "A", "a-", &"a".repeat(64)] {
        let subdomain = names::dns1123_subdomain(name).is_ok();
        let as_reference = extra_env::parse(&format!("X=SECRET:{name},k")).is_ok();
        assert_eq!(as_reference, subdomain, "{name}");
        let label = names::dns1123_label(name).is_ok();
        assert_eq!(
            crate::server::environments::check_name(name).is_ok(),
            label,
            "{name}"
        );
    }
}
