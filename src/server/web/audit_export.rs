//! `GET /admin/audit/export.ndjson?q=…`: the events matching a query line, one JSON object per
//! line, newest first, streamed page by page (a million events never sit in memory). Admins
//! only, signed in with the browser's login session (never a token).

use crate::{
    model::{audit_query::AuditQuery, AppError},
    server::{auth::session, db, state::AppState},
};
use axum::{
    body::Body,
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use std::collections::HashMap;
use tower_sessions::Session;

/// Rows read per query while streaming.
const CHUNK: i64 = 1_000;

pub async fn export(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let authorised = async {
        // A token is refused (the export is for a signed-in browser); another scheme (a
        // reverse proxy's Basic authentication) is not a token and is ignored, as elsewhere.
        if super::bearer::token(&headers).is_some() {
            return Err(AppError::Unauthorized);
        }
        let user = session::current(&state, &session)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if user.must_change_password {
            return Err(AppError::PasswordChangeRequired);
        }
        if !user.is_admin {
            return Err(crate::server::projects::admins_only());
        }
        let q = params.get("q").map(String::as_str).unwrap_or("");
        AuditQuery::parse(q).map_err(|e| {
            AppError::field(
                "q",
                crate::model::RuleError::new(crate::model::Code::InvalidQuery, e.0),
            )
        })
    }
    .await;
    let query = match authorised {
        Ok(query) => query,
        Err(e) => return error(e),
    };
    let db = state.db.clone();
    // (cursor, finished): each step reads one chunk below the cursor.
    let lines = futures::stream::unfold((None::<i64>, false), move |(before, done)| {
        let db = db.clone();
        let query = query.clone();
        async move {
            if done {
                return None;
            }
            match db::audit::search(&db, &query, before, CHUNK).await {
                Ok(events) => {
                    let finished = (events.len() as i64) < CHUNK;
                    let next = events.last().map(|e| e.seq);
                    let mut out = Vec::with_capacity(events.len() * 160);
                    for event in &events {
                        if serde_json::to_writer(&mut out, event).is_ok() {
                            out.push(b'\n');
                        }
                    }
                    Some((
                        Ok::<_, std::io::Error>(bytes::Bytes::from(out)),
                        (next, finished || next.is_none()),
                    ))
                }
                Err(e) => {
                    // The response has begun: cut it short, so a reader sees a truncated
                    // transfer rather than a complete-looking file.
                    tracing::error!(error = %e, "reading audit events for the export");
                    Some((Err(std::io::Error::other("database error")), (None, true)))
                }
            }
        }
    });
    let mut res = Body::from_stream(lines).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"lockbox-audit.ndjson\""),
    );
    res
}

fn error(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = serde_json::to_value(&e).unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut body {
        map.entry("message").or_insert_with(|| e.to_string().into());
    }
    (status, axum::Json(body)).into_response()
}
