use super::*;

fn fields(action: &str) -> EventFields<'_> {
    EventFields {
        at: 1_700_000_000_000,
        actor_id: Some("u1"),
        actor_name: Some("alice"),
        action,
        target: Some("DB_PASSWORD"),
        detail: None,
        client_addr: Some("127.0.0.1"),
        session_id: None,
    }
}

/// A chain of `n` events as the writer makes it, and its head.
fn chain(key: &DataKey, n: i64) -> (Vec<ChainRow>, Head) {
    chain_of(key, (1..=n).map(|seq| format!("secret.created.{seq}")))
}

/// A chain of events with these actions, and its head.
fn chain_of(key: &DataKey, actions: impl IntoIterator<Item = String>) -> (Vec<ChainRow>, Head) {
    let mut rows = Vec::new();
    let mut last = Vec::new();
    let mut n = 0;
    for (seq, action) in (1..).zip(actions) {
        n = seq;
        let mac = event_mac(key, &last, seq, &fields(&action));
        rows.push(ChainRow {
            id: seq + 100,
            seq,
            at: 1_700_000_000_000,
            actor_id: Some("u1".into()),
            actor_name: Some("alice".into()),
            action,
            target: Some("DB_PASSWORD".into()),
            detail: None,
            client_addr: Some("127.0.0.1".into()),
            session_id: None,
            mac: mac.to_vec(),
        });
        last = mac.to_vec();
    }
    let head = Head {
        seq: n,
        head_mac: Some(head_mac(key, n, &last).to_vec()),
        last_mac: last,
    };
    (rows, head)
}

fn walk(key: &DataKey, rows: &[ChainRow], head: &Head) -> Result<i64, ChainBreak> {
    let mut w = Walk::new(key);
    for row in rows {
        w.next(row)?;
    }
    let checked = w.checked();
    w.finish(head)?;
    Ok(checked)
}

#[test]
fn an_untouched_chain_verifies() {
    let key = DataKey::generate();
    let (rows, head) = chain(&key, 5);
    assert_eq!(walk(&key, &rows, &head), Ok(5));
    let (rows, head) = chain(&key, 0);
    assert_eq!(walk(&key, &rows, &head), Ok(0));
}

#[test]
fn an_edited_field_breaks_at_that_event() {
    let key = DataKey::generate();
    for field in 0..8 {
        let (mut rows, head) = chain(&key, 5);
        let row = &mut rows[2];
        match field {
            0 => row.at += 1,
            1 => row.actor_id = Some("u2".into()),
            2 => row.actor_name = None,
            3 => row.action = "secret.deleted".into(),
            4 => row.target = Some("OTHER".into()),
            5 => row.detail = Some("".into()),
            6 => row.client_addr = Some("10.0.0.1".into()),
            _ => row.session_id = Some("s1".into()),
        }
        let err = walk(&key, &rows, &head).unwrap_err();
        assert_eq!((err.seq, err.id), (3, Some(103)), "field {field}: {err:?}");
    }
}

#[test]
fn a_value_moved_between_fields_is_caught() {
    let key = DataKey::generate();
    let a = EventFields {
        target: Some("ab"),
        detail: Some("c"),
        ..fields("x")
    };
    let b = EventFields {
        target: Some("a"),
        detail: Some("bc"),
        ..fields("x")
    };
    assert_ne!(event_mac(&key, b"", 1, &a), event_mac(&key, b"", 1, &b));
    let none = EventFields {
        detail: None,
        ..fields("x")
    };
    let empty = EventFields {
        detail: Some(""),
        ..fields("x")
    };
    assert_ne!(
        event_mac(&key, b"", 1, &none),
        event_mac(&key, b"", 1, &empty)
    );
}

#[test]
fn a_deleted_middle_event_is_reported_by_its_number() {
    let key = DataKey::generate();
    let (mut rows, head) = chain(&key, 5);
    rows.remove(1);
    let err = walk(&key, &rows, &head).unwrap_err();
    assert_eq!((err.seq, err.id), (2, None));
    assert!(err.problem.contains("deleted"), "{err:?}");
}

#[test]
fn deleting_the_newest_events_is_caught_by_the_head() {
    let key = DataKey::generate();
    let (mut rows, head) = chain(&key, 5);
    rows.truncate(3);
    let err = walk(&key, &rows, &head).unwrap_err();
    assert_eq!(err.seq, 4, "{err:?}");
    // Rolling the head back too needs its MAC, which only the audit key makes.
    let forged = Head {
        seq: 3,
        last_mac: rows[2].mac.clone(),
        head_mac: head.head_mac.clone(),
    };
    assert!(walk(&key, &rows, &forged).is_err());
    let reset = Head {
        head_mac: None,
        ..forged
    };
    assert!(walk(&key, &rows, &reset).is_err());
}

#[test]
fn swapped_events_are_caught() {
    let key = DataKey::generate();
    let (mut rows, head) = chain(&key, 5);
    // Swap two rows' contents but keep their numbers (a reorder by editing).
    let (a, b) = (rows[1].clone(), rows[3].clone());
    rows[1] = ChainRow { seq: 2, ..b };
    rows[3] = ChainRow { seq: 4, ..a };
    let err = walk(&key, &rows, &head).unwrap_err();
    assert_eq!(err.seq, 2, "{err:?}");
}

#[test]
fn another_key_verifies_nothing() {
    let key = DataKey::generate();
    let (rows, head) = chain(&key, 3);
    let err = walk(&DataKey::generate(), &rows, &head).unwrap_err();
    assert_eq!(err.seq, 1);
}

/// One chain start (an upgrade's) verifies; a second one means the chain was begun again over
/// the log as it stood (a reset), and the walk stops there.
#[test]
fn a_second_chain_start_is_a_reset() {
    use crate::server::db::audit::CHAIN_STARTED;
    let key = DataKey::generate();
    let actions = |starts: &[i64]| -> Vec<String> {
        (1..=8)
            .map(|seq| match starts.contains(&seq) {
                true => CHAIN_STARTED.to_string(),
                false => format!("secret.created.{seq}"),
            })
            .collect()
    };
    let (rows, head) = chain_of(&key, actions(&[3]));
    assert_eq!(walk(&key, &rows, &head), Ok(8));
    let (rows, head) = chain_of(&key, actions(&[3, 6]));
    let broken = walk(&key, &rows, &head).unwrap_err();
    assert_eq!((broken.seq, broken.id), (6, Some(106)));
    assert!(broken.problem.contains("reset"), "{}", broken.problem);
}
