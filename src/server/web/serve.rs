//! Serves the router's connections with hyper itself rather than `axum::serve`, which gives
//! hyper no timer: without one hyper's header read timeout is off, and a client could hold a
//! connection (and a file descriptor) for ever by sending a request's head a byte at a time, or
//! nothing at all, or by idling between requests. Here each request's head is due within
//! `head_timeout` (bodies are bounded by `body_timeout`). Not bounded here: a client that stops
//! reading a response, and the number of connections; a reverse proxy in front bounds those.
//! Shutdown is graceful: once `shutdown` completes no connection is accepted, and the open ones
//! get [`SHUTDOWN_GRACE`] to finish their requests.

use axum::{body::Body, extract::ConnectInfo, Router};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use std::{future::Future, time::Duration};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Accepts connections on `listener` until `shutdown` completes, then waits for the open ones.
/// Each request carries its peer's address as axum's [`ConnectInfo`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    head_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // One connection's trouble, gone before it was accepted: take the next.
                Err(e) if one_connection(&e) => continue,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Small responses go out at once: with Nagle's algorithm a response written as headers,
        // then body waited for the client's delayed ACK (about 40 ms per file on a kept-alive
        // connection).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
        let service = app
            .clone()
            .map_request(move |req: http::Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(head_timeout)
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, peer = %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // A connection whose client stopped reading would otherwise hold the shutdown (and the
    // sessions' clean-up after it) for ever.
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "connections still open at shutdown were dropped"
        );
    }
}

/// How long open connections may take to finish at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Whether an accept error concerns one connection only (the listener itself is fine).
fn one_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}
