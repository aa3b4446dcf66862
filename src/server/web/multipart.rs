//! Reading the add-secret form sent as multipart form data (so a file can be uploaded without
//! JavaScript). Field sizes are capped while reading, so an oversized upload is refused without
//! being held in memory.

use crate::model::{AppError, FieldError, SecretValue};
use leptos::server_fn::codec::MultipartData;
use zeroize::Zeroizing;

#[derive(Default)]
pub struct SecretForm {
    pub name: String,
    pub description: String,
    pub value: SecretValue,
    /// Set when the form itself could not be read, or a field broke a rule while reading.
    pub error: Option<AppError>,
}

/// The server functions that take multipart form data. Their decoder panics on a body without a
/// multipart boundary (dropping the connection), so [`guard`] refuses such requests first.
fn takes_multipart(path: &str) -> bool {
    use leptos::server_fn::ServerFn;
    path == <crate::api::secrets::UploadSecret as ServerFn>::PATH
}

/// Refuses a request to a multipart server function that is not multipart form data with a
/// boundary: a 400 naming the problem instead of a panic in the decoder.
pub async fn guard(
    req: axum::http::Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if takes_multipart(req.uri().path()) {
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let multipart = content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data");
        if !multipart || multer::parse_boundary(content_type).is_err() {
            let err = AppError::BadRequest {
                message: "Bad request: send this form as multipart/form-data (with a boundary)."
                    .into(),
            };
            let status = axum::http::StatusCode::from_u16(err.status())
                .unwrap_or(axum::http::StatusCode::BAD_REQUEST);
            return (status, axum::Json(err)).into_response();
        }
    }
    next.run(req).await
}

/// Text fields other than the value are short; this bounds them while reading.
const MAX_TEXT_FIELD: usize = 4096;

enum Read {
    Ok(Zeroizing<Vec<u8>>),
    TooLong,
}

async fn read_field(field: &mut multer::Field<'_>, max: usize) -> Result<Read, multer::Error> {
    let mut buf = Zeroizing::new(Vec::new());
    while let Some(chunk) = field.chunk().await? {
        if buf.len() + chunk.len() > max {
            return Ok(Read::TooLong);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Read::Ok(buf))
}

fn text(bytes: Zeroizing<Vec<u8>>) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}

pub async fn read_secret_form(data: MultipartData, max_value: usize) -> SecretForm {
    let mut form = SecretForm::default();
    let Some(mut multipart) = data.into_inner() else {
        form.error = Some(AppError::BadRequest {
            message: "Bad request: expected a form.".into(),
        });
        return form;
    };
    let mut typed: Option<SecretValue> = None;
    let mut file: Option<SecretValue> = None;
    let mut from_text_area = false;
    let mut errors = Vec::new();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => {
                form.error = Some(AppError::BadRequest {
                    message: "Bad request: the form data could not be read.".into(),
                });
                return form;
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let limit = if matches!(name.as_str(), "value" | "file") {
            max_value
        } else {
            MAX_TEXT_FIELD
        };
        let read = match read_field(&mut field, limit).await {
            Ok(read) => read,
            Err(_) => {
                form.error = Some(AppError::BadRequest {
                    message: "Bad request: the form data could not be read.".into(),
                });
                return form;
            }
        };
        let too_long = |field: &str| {
            FieldError::new(
                field,
                format!(
                    "Value must be at most {} KiB ({max_value} bytes).",
                    max_value / 1024
                ),
            )
        };
        match (name.as_str(), read) {
            ("value", Read::TooLong) | ("file", Read::TooLong) => errors.push(too_long("value")),
            ("name" | "description", Read::TooLong) => {
                errors.push(FieldError::new(&name, format!("{name} is far too long.")))
            }
            ("name", Read::Ok(b)) => form.name = text(b).unwrap_or_default(),
            ("description", Read::Ok(b)) => form.description = text(b).unwrap_or_default(),
            ("text_area", Read::Ok(b)) => from_text_area = b.as_slice() == b"true",
            ("value", Read::Ok(b)) => match text(b) {
                Some(v) => typed = Some(SecretValue::new(v)),
                None => errors.push(FieldError::new("value", "Value must be UTF-8 text.")),
            },
            ("file", Read::Ok(b)) if !b.is_empty() => match text(b) {
                Some(v) => file = Some(SecretValue::new(v)),
                None => errors.push(FieldError::new(
                    "value",
                    "The uploaded file must be UTF-8 text (binary files are not supported).",
                )),
            },
            _ => {}
        }
    }
    if !errors.is_empty() {
        form.error = Some(AppError::fields(errors));
    }
    // The typed value comes from the page's text area when the form says so (uploaded files
    // and API clients keep their bytes exactly).
    let typed = typed.map(|v| {
        if from_text_area {
            v.from_text_area()
        } else {
            v
        }
    });
    form.value = file.or(typed).unwrap_or_default();
    form
}
