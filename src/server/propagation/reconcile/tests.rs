//! One test per propagation rule (issue 8, item 5).

use super::*;

const SYS: &str = "lockbox";

fn data(pairs: &[(&str, &str)]) -> Digest {
    digest(pairs.iter().map(|(k, v)| (*k, v.as_bytes())))
}

fn source(uid: &str, name: &str, version: &str, pairs: &[(&str, &str)]) -> Source {
    Source {
        uid: uid.into(),
        namespace: SYS.into(),
        name: name.into(),
        version: version.into(),
        kind: "Opaque".into(),
        immutable: false,
        digest: data(pairs),
    }
}

/// Lockbox's copy of `s` in `ns`, exactly as it should be.
fn copy_of(s: &Source, ns: &str) -> Existing {
    Existing {
        namespace: ns.into(),
        name: s.name.clone(),
        uid: format!("copy-{ns}-{}", s.name),
        version: "7".into(),
        markers: Some(Markers {
            source_uid: s.uid.clone(),
            source: s.path(),
            source_version: s.version.clone(),
        }),
        kind: s.kind.clone(),
        immutable: s.immutable,
        digest: s.digest,
    }
}

fn unmanaged(ns: &str, name: &str) -> Existing {
    Existing {
        namespace: ns.into(),
        name: name.into(),
        uid: "theirs".into(),
        version: "3".into(),
        markers: None,
        kind: "Opaque".into(),
        immutable: false,
        digest: data(&[("password", "theirs")]),
    }
}

fn snapshot(sources: Vec<Source>, namespaces: &[&str], existing: Vec<Existing>) -> Snapshot {
    Snapshot {
        system_namespace: SYS.into(),
        sources,
        namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
        existing,
        unknown: BTreeSet::new(),
    }
}

fn creds() -> Source {
    source(
        "uid-1",
        "registry-creds",
        "100",
        &[("token", "t1"), ("user", "u")],
    )
}

fn target(e: &Existing) -> Target {
    e.into()
}

fn row<'a>(plan: &'a Plan, ns: &str) -> &'a Planned {
    plan.status
        .iter()
        .find(|r| r.namespace == ns)
        .unwrap_or_else(|| panic!("no status for {ns}: {plan:?}"))
}

#[test]
fn a_new_source_is_copied_into_every_project_namespace() {
    let plan = reconcile(&snapshot(vec![creds()], &["team-a", "team-b"], vec![]));
    assert_eq!(
        plan.actions,
        [
            Action::Create {
                source: "uid-1".into(),
                namespace: "team-a".into()
            },
            Action::Create {
                source: "uid-1".into(),
                namespace: "team-b".into()
            },
        ]
    );
    assert_eq!(plan.status.len(), 2);
    for (i, r) in plan.status.iter().enumerate() {
        assert_eq!(r.state, State::Synced);
        assert_eq!(r.action, Some(i));
        assert_eq!(r.version, "100");
        assert_eq!(r.source, "lockbox/registry-creds");
    }
}

#[test]
fn copies_in_line_need_no_write() {
    let s = creds();
    let plan = reconcile(&snapshot(
        vec![s.clone()],
        &["team-a", "team-b"],
        vec![copy_of(&s, "team-a"), copy_of(&s, "team-b")],
    ));
    assert!(plan.actions.is_empty(), "{plan:?}");
    assert!(plan
        .status
        .iter()
        .all(|r| r.state == State::Synced && r.action.is_none()));
}

#[test]
fn a_namespace_created_later_gets_a_copy() {
    let s = creds();
    let plan = reconcile(&snapshot(
        vec![s.clone()],
        &["team-a", "team-new"],
        vec![copy_of(&s, "team-a")],
    ));
    assert_eq!(
        plan.actions,
        [Action::Create {
            source: "uid-1".into(),
            namespace: "team-new".into()
        }]
    );
    assert_eq!(row(&plan, "team-a").action, None);
    assert_eq!(row(&plan, "team-new").action, Some(0));
}

#[test]
fn a_deleted_copy_is_created_again() {
    let s = creds();
    // The copy in team-b was deleted by someone: it is simply missing from the snapshot.
    let plan = reconcile(&snapshot(
        vec![s.clone()],
        &["team-a", "team-b"],
        vec![copy_of(&s, "team-a")],
    ));
    assert_eq!(
        plan.actions,
        [Action::Create {
            source: "uid-1".into(),
            namespace: "team-b".into()
        }]
    );
}

#[test]
fn an_unmanaged_secret_of_the_same_name_is_a_conflict_and_never_written() {
    let s = creds();
    let theirs = unmanaged("team-a", "registry-creds");
    let plan = reconcile(&snapshot(
        vec![s.clone()],
        &["team-a"],
        vec![theirs.clone()],
    ));
    assert!(plan.actions.is_empty(), "{plan:?}");
    let r = row(&plan, "team-a");
    assert_eq!(r.state, State::Conflict);
    assert_eq!(r.detail.as_deref(), Some(DETAIL_UNMANAGED));
    // Labelled managed-by=lockbox but without propagated-from (a session Secret, say): still
    // not a copy, still a conflict.
    let mut half = theirs;
    half.markers = Markers::read(
        &BTreeMap::from([(LABEL_MANAGED_BY.into(), MANAGED_BY.into())]),
        &BTreeMap::new(),
    );
    assert_eq!(half.markers, None);
    let plan = reconcile(&snapshot(vec![s], &["team-a"], vec![half]));
    assert!(plan.actions.is_empty());
    assert_eq!(row(&plan, "team-a").state, State::Conflict);
}

#[test]
fn an_unmanaged_secret_is_never_deleted_even_when_no_source_is_left() {
    let plan = reconcile(&snapshot(
        vec![],
        &["team-a"],
        vec![unmanaged("team-a", "registry-creds")],
    ));
    assert!(plan.actions.is_empty(), "{plan:?}");
}

#[test]
fn a_marker_naming_another_source_is_a_conflict() {
    let s = creds();
    let other = source("uid-2", "other", "5", &[("k", "v")]);
    // A Secret named like `s` whose markers say it is a copy of `other`, a current source.
    let mut theirs = copy_of(&other, "team-a");
    theirs.name = s.name.clone();
    // And one whose markers name a source in another system namespace (another installation).
    let mut foreign = copy_of(&s, "team-b");
    foreign.markers = Some(Markers {
        source_uid: "uid-elsewhere".into(),
        source: "other-lockbox/registry-creds".into(),
        source_version: "1".into(),
    });
    let plan = reconcile(&snapshot(
        vec![s.clone(), other.clone()],
        &["team-a", "team-b"],
        vec![
            theirs,
            copy_of(&other, "team-b"),
            foreign,
            copy_of(&other, "team-a"),
        ],
    ));
    // Only other's copy in team-a... is itself named "other": in line, nothing to do. Nothing
    // is written over or deleted for either conflict.
    assert!(plan.actions.is_empty(), "{plan:?}");
    let conflicts: Vec<_> = plan
        .status
        .iter()
        .filter(|r| r.source_uid == "uid-1")
        .collect();
    assert_eq!(conflicts.len(), 2);
    for r in conflicts {
        assert_eq!(r.state, State::Conflict, "{r:?}");
        assert!(
            r.detail
                .as_deref()
                .unwrap()
                .contains("copy of another source"),
            "{r:?}"
        );
    }
    let a = plan
        .status
        .iter()
        .find(|r| r.source_uid == "uid-1" && r.namespace == "team-a")
        .unwrap();
    assert!(
        a.detail.as_deref().unwrap().contains("lockbox/other"),
        "{a:?}"
    );
}

#[test]
fn a_removed_key_is_removed_from_the_copy() {
    let old = creds();
    let mut new = source("uid-1", "registry-creds", "101", &[("token", "t1")]);
    new.kind = old.kind.clone();
    let copy = copy_of(&old, "team-a");
    let plan = reconcile(&snapshot(vec![new], &["team-a"], vec![copy.clone()]));
    assert_eq!(
        plan.actions,
        [Action::Update {
            source: "uid-1".into(),
            target: target(&copy)
        }]
    );
    assert_eq!(row(&plan, "team-a").version, "101");
}

#[test]
fn an_updated_source_updates_its_copies() {
    let old = creds();
    let new = source(
        "uid-1",
        "registry-creds",
        "102",
        &[("token", "t2"), ("user", "u")],
    );
    let plan = reconcile(&snapshot(
        vec![new],
        &["team-a", "team-b"],
        vec![copy_of(&old, "team-a"), copy_of(&old, "team-b")],
    ));
    assert_eq!(plan.actions.len(), 2);
    assert!(plan
        .actions
        .iter()
        .all(|a| matches!(a, Action::Update { .. })));
}

#[test]
fn an_edited_copy_is_reverted() {
    let s = creds();
    let mut edited = copy_of(&s, "team-a");
    edited.digest = data(&[("token", "hacked"), ("user", "u")]);
    edited.version = "8".into();
    let plan = reconcile(&snapshot(
        vec![s.clone()],
        &["team-a"],
        vec![edited.clone()],
    ));
    assert_eq!(
        plan.actions,
        [Action::Update {
            source: "uid-1".into(),
            target: target(&edited)
        }]
    );
    // An added key is an edit too; so are stale markers.
    let mut added = copy_of(&s, "team-a");
    added.digest = data(&[("token", "t1"), ("user", "u"), ("extra", "x")]);
    let mut stale = copy_of(&s, "team-a");
    stale.markers.as_mut().unwrap().source_version = "99".into();
    for e in [added, stale] {
        let plan = reconcile(&snapshot(vec![s.clone()], &["team-a"], vec![e.clone()]));
        assert_eq!(
            plan.actions,
            [Action::Update {
                source: "uid-1".into(),
                target: target(&e)
            }]
        );
    }
}

#[test]
fn a_changed_type_is_deleted_and_created_again() {
    let old = creds();
    let mut new = old.clone();
    new.kind = "kubernetes.io/dockerconfigjson".into();
    new.version = "103".into();
    let copy = copy_of(&old, "team-a");
    let plan = reconcile(&snapshot(vec![new], &["team-a"], vec![copy.clone()]));
    assert_eq!(
        plan.actions,
        [Action::Replace {
            source: "uid-1".into(),
            target: target(&copy)
        }]
    );
}

#[test]
fn an_immutable_source_is_replaced_not_updated() {
    let mut old = creds();
    old.immutable = true;
    let mut new = source("uid-1", "registry-creds", "104", &[("token", "t3")]);
    new.immutable = true;
    let copy = copy_of(&old, "team-a");
    let plan = reconcile(&snapshot(
        vec![new.clone()],
        &["team-a"],
        vec![copy.clone()],
    ));
    assert_eq!(
        plan.actions,
        [Action::Replace {
            source: "uid-1".into(),
            target: target(&copy)
        }]
    );
    // A mutable copy of a source made immutable: replaced too.
    let mutable = copy_of(&creds(), "team-a");
    let plan = reconcile(&snapshot(vec![new.clone()], &["team-a"], vec![mutable]));
    assert!(matches!(plan.actions[..], [Action::Replace { .. }]));
    // Only the markers are stale (the source's labels changed): rewritten in place, which
    // an immutable Secret allows.
    let mut relabelled = new.clone();
    relabelled.version = "105".into();
    let copy = copy_of(&new, "team-a");
    let plan = reconcile(&snapshot(vec![relabelled], &["team-a"], vec![copy.clone()]));
    assert_eq!(
        plan.actions,
        [Action::Update {
            source: "uid-1".into(),
            target: target(&copy)
        }]
    );
}

#[test]
fn a_deleted_or_unlabelled_source_has_its_copies_deleted() {
    // The store no longer lists the source (deleted, or its label removed).
    let s = creds();
    let (a, b) = (copy_of(&s, "team-a"), copy_of(&s, "team-b"));
    let plan = reconcile(&snapshot(
        vec![],
        &["team-a", "team-b"],
        vec![a.clone(), b.clone()],
    ));
    assert_eq!(
        plan.actions,
        [
            Action::Delete {
                target: target(&a),
                why: Why::SourceGone
            },
            Action::Delete {
                target: target(&b),
                why: Why::SourceGone
            },
        ]
    );
    assert!(plan.status.is_empty());
}

#[test]
fn a_removed_projects_copy_is_deleted() {
    let s = creds();
    let gone = copy_of(&s, "team-gone");
    let plan = reconcile(&snapshot(
        vec![s.clone()],
        &["team-a"],
        vec![copy_of(&s, "team-a"), gone.clone()],
    ));
    assert_eq!(
        plan.actions,
        [Action::Delete {
            target: target(&gone),
            why: Why::NotAProject
        }]
    );
    assert!(plan.status.iter().all(|r| r.namespace == "team-a"));
}

#[test]
fn a_source_created_again_under_the_same_name_replaces_the_old_copy() {
    let old = creds();
    let new = source("uid-9", "registry-creds", "200", &[("token", "t9")]);
    let copy = copy_of(&old, "team-a");
    let plan = reconcile(&snapshot(vec![new], &["team-a"], vec![copy.clone()]));
    assert_eq!(
        plan.actions,
        [Action::Replace {
            source: "uid-9".into(),
            target: target(&copy)
        }]
    );
}

#[test]
fn service_account_tokens_are_skipped_and_reported() {
    let mut token = source("uid-sa", "builder-token", "1", &[("token", "jwt")]);
    token.kind = SERVICE_ACCOUNT_TOKEN.into();
    let plan = reconcile(&snapshot(
        vec![token.clone(), creds()],
        &["team-a", "team-b"],
        vec![],
    ));
    assert!(plan
        .actions
        .iter()
        .all(|a| matches!(a, Action::Create { source, .. } if source == "uid-1")));
    let skipped: Vec<_> = plan
        .status
        .iter()
        .filter(|r| r.source_uid == "uid-sa")
        .collect();
    assert_eq!(skipped.len(), 2);
    for r in skipped {
        assert_eq!(r.state, State::Skipped);
        assert_eq!(r.detail.as_deref(), Some(DETAIL_SA_TOKEN));
        assert_eq!(r.action, None);
    }
    // A copy left from before is deleted.
    let plan = reconcile(&snapshot(
        vec![token.clone()],
        &["team-a"],
        vec![copy_of(&token, "team-a")],
    ));
    assert!(matches!(
        plan.actions[..],
        [Action::Delete {
            why: Why::SourceGone,
            ..
        }]
    ));
}

#[test]
fn the_sources_own_namespace_is_skipped() {
    let plan = reconcile(&snapshot(vec![creds()], &[SYS, "team-a"], vec![]));
    assert_eq!(plan.actions.len(), 1);
    let r = row(&plan, SYS);
    assert_eq!(r.state, State::Skipped);
    assert_eq!(r.detail.as_deref(), Some(DETAIL_OWN_NAMESPACE));
}

#[test]
fn sources_are_recognised_by_either_label() {
    assert!(is_source([(LABEL_CLUSTER_WIDE, "true")].into_iter()));
    assert!(is_source([(LABEL_RUNAI_CLUSTER_WIDE, "true")].into_iter()));
    assert!(!is_source([(LABEL_CLUSTER_WIDE, "false")].into_iter()));
    assert!(!is_source([("app", "x")].into_iter()));
}

#[test]
fn digests_see_removed_keys_and_moved_bytes() {
    let a = data(&[("ab", "c")]);
    assert_ne!(a, data(&[("a", "bc")]));
    assert_ne!(a, data(&[("ab", "c"), ("x", "")]));
    assert_eq!(a, digest([("ab", b"c".as_slice())]));
}

#[test]
fn markers_round_trip() {
    let s = creds();
    let (labels, annotations) = Markers::of(&s);
    let m = Markers::read(&labels, &annotations).unwrap();
    assert_eq!(m.source_uid, "uid-1");
    assert_eq!(m.source, "lockbox/registry-creds");
    assert_eq!(m.source_version, "100");
    assert!(!labels.values().any(|v| v.contains('/')));
}
