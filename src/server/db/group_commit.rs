//! Group commit: one writer task takes the jobs waiting at that moment and hands them to a runner
//! that commits them in one transaction, so a burst of N writes costs one sync of the disk rather
//! than N. A caller is answered only with what the runner returned for its job, and the runner
//! returns only after its commit: nothing is acknowledged before it is durable.
//!
//! No timer: a batch is whatever queued while the previous one was committing, so a lone write
//! goes out at once and a busy server batches by itself.

use futures::FutureExt;
use std::{future::Future, panic::AssertUnwindSafe};
use tokio::sync::{mpsc, oneshot};

/// How many jobs may wait before callers wait to queue (back-pressure, not a failure).
const QUEUE: usize = 4096;

struct Job<Req, Resp> {
    req: Req,
    reply: oneshot::Sender<Resp>,
}

/// The handle callers submit jobs through; cheap to clone. The writer task ends when the last
/// handle is dropped.
pub struct Batcher<Req, Resp> {
    tx: mpsc::Sender<Job<Req, Resp>>,
}

impl<Req, Resp> Clone for Batcher<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<Req, Resp> std::fmt::Debug for Batcher<Req, Resp> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

/// The writer task is gone, or dropped this job without an answer (its runner panicked): the job
/// may or may not have been committed, and the caller must not say it was.
#[derive(Debug, thiserror::Error)]
#[error("the group-commit writer gave no answer")]
pub struct NoAnswer;

impl<Req: Send + 'static, Resp: Send + 'static> Batcher<Req, Resp> {
    /// Starts the writer task. `run` gets each batch (at most `max_batch` jobs, in arrival order)
    /// and must return one answer per job, in the same order, once they are committed.
    pub fn spawn<F, Fut>(max_batch: usize, mut run: F) -> Self
    where
        F: FnMut(Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Resp>> + Send,
    {
        let (tx, mut rx) = mpsc::channel(QUEUE);
        tokio::spawn(async move {
            while let Some(jobs) = next_batch(&mut rx, max_batch).await {
                let (reqs, replies): (Vec<_>, Vec<_>) = jobs
                    .into_iter()
                    .map(|j: Job<Req, Resp>| (j.req, j.reply))
                    .unzip();
                // A panicking runner answers nobody in its batch (they get `NoAnswer`), and the
                // writer goes on serving the next batch.
                let Ok(answers) = AssertUnwindSafe(run(reqs)).catch_unwind().await else {
                    tracing::error!("a group commit panicked; its callers get an error");
                    continue;
                };
                debug_assert_eq!(answers.len(), replies.len(), "one answer per job");
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // The caller may have gone (a closed connection): its job stands regardless.
                    let _ = reply.send(answer);
                }
            }
        });
        Self { tx }
    }

    /// Queues a job and waits for its answer.
    pub async fn submit(&self, req: Req) -> Result<Resp, NoAnswer> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { req, reply })
            .await
            .map_err(|_| NoAnswer)?;
        answer.await.map_err(|_| NoAnswer)
    }
}

/// Waits for one job, then takes every job already queued behind it, up to `max`. `None` once
/// every handle is gone and the queue is empty.
async fn next_batch<T>(rx: &mut mpsc::Receiver<T>, max: usize) -> Option<Vec<T>> {
    let first = rx.recv().await?;
    let mut batch = vec![first];
    while batch.len() < max.max(1) {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

#[cfg(test)]
mod tests;
