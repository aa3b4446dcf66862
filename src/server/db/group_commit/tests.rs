//! The batching itself, without a database: a runner that records its batches stands in for the
//! transaction.

use super::*;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

#[tokio::test]
async fn a_batch_is_what_waits_up_to_the_maximum_in_order() {
    let (tx, mut rx) = mpsc::channel(16);
    for i in 0..7 {
        tx.send(i).await.unwrap();
    }
    assert_eq!(next_batch(&mut rx, 5).await, Some(vec![0, 1, 2, 3, 4]));
    assert_eq!(next_batch(&mut rx, 5).await, Some(vec![5, 6]));
    drop(tx);
    assert_eq!(next_batch(&mut rx, 5).await, None);
}

/// A runner that records each batch and waits for a permit per batch before "committing".
fn gated(
    seen: Arc<Mutex<Vec<Vec<u32>>>>,
    gate: Arc<Semaphore>,
) -> Batcher<u32, Result<u32, String>> {
    Batcher::spawn(100, move |reqs: Vec<u32>| {
        let seen = seen.clone();
        let gate = gate.clone();
        async move {
            seen.lock().unwrap().push(reqs.clone());
            gate.acquire().await.unwrap().forget();
            // Each job keeps its own outcome: an odd one fails alone.
            reqs.into_iter()
                .map(|r| {
                    if r % 2 == 1 {
                        Err(format!("{r} refused"))
                    } else {
                        Ok(r * 10)
                    }
                })
                .collect()
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_queued_during_a_commit_go_together_in_the_next_and_wait_for_it() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gate = Arc::new(Semaphore::new(0));
    let batcher = gated(seen.clone(), gate.clone());

    let first = tokio::spawn({
        let b = batcher.clone();
        async move { b.submit(100).await }
    });
    while seen.lock().unwrap().is_empty() {
        tokio::task::yield_now().await;
    }
    // The first batch is "committing": these queue behind it.
    let rest: Vec<_> = (1..=6)
        .map(|i| {
            let b = batcher.clone();
            tokio::spawn(async move { b.submit(i).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!first.is_finished(), "answered before its commit returned");
    assert_eq!(seen.lock().unwrap().len(), 1, "nothing else started");

    gate.add_permits(1);
    assert_eq!(first.await.unwrap().unwrap(), Ok(1000));
    while seen.lock().unwrap().len() < 2 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        rest.iter().all(|t| !t.is_finished()),
        "answered before commit"
    );
    gate.add_permits(1);
    let mut answers = Vec::new();
    for t in rest {
        answers.push(t.await.unwrap().unwrap());
    }
    let mut second = seen.lock().unwrap()[1].clone();
    second.sort();
    assert_eq!(
        second,
        vec![1, 2, 3, 4, 5, 6],
        "one batch for all that waited"
    );
    assert_eq!(
        answers,
        vec![
            Err("1 refused".into()),
            Ok(20),
            Err("3 refused".into()),
            Ok(40),
            Err("5 refused".into()),
            Ok(60)
        ],
        "each caller gets its own job's outcome"
    );
}

#[tokio::test]
async fn a_panicking_batch_answers_nobody_and_the_writer_goes_on() {
    let batcher = Batcher::spawn(10, |reqs: Vec<u32>| async move {
        assert!(!reqs.contains(&13), "unlucky");
        reqs
    });
    assert!(matches!(batcher.submit(13).await, Err(NoAnswer)));
    assert_eq!(batcher.submit(7).await.unwrap(), 7);
}
