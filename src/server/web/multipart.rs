//! Reading the add-secret form sent as multipart form data (so a file can be uploaded without
//! JavaScript). Field sizes are capped while reading, so an oversized upload is refused without
//! being held in memory.

use crate::model::{AppError, Code, FieldError, RuleError, SecretValue};
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
pub fn takes_multipart(path: &str) -> bool {
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
                RuleError::new(
                    Code::TooLong,
                    format!(
                        "Value must be at most {} KiB ({max_value} bytes).",
                        max_value / 1024
                    ),
                ),
            )
        };
        match (name.as_str(), read) {
            ("value", Read::TooLong) | ("file", Read::TooLong) => errors.push(too_long("value")),
            ("name" | "description", Read::TooLong) => errors.push(FieldError::new(
                &name,
                RuleError::new(Code::TooLong, format!("{name} is far too long.")),
            )),
            ("name", Read::Ok(b)) => form.name = text(b).unwrap_or_default(),
            ("description", Read::Ok(b)) => form.description = text(b).unwrap_or_default(),
            ("text_area", Read::Ok(b)) => from_text_area = b.as_slice() == b"true",
            ("value", Read::Ok(b)) => match text(b) {
                Some(v) => typed = Some(SecretValue::new(v)),
                None => errors.push(FieldError::new(
                    "value",
                    RuleError::new(Code::NotUtf8, "Value must be UTF-8 text."),
                )),
            },
            ("file", Read::Ok(b)) if !b.is_empty() => match text(b) {
                Some(v) => file = Some(SecretValue::new(v)),
                None => errors.push(FieldError::new(
                    "value",
                    RuleError::new(
                        Code::NotUtf8,
                        "The uploaded file must be UTF-8 text (binary files are not supported).",
                    ),
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

#[cfg(test)]
mod proptests {
    //! The multipart reader over generated bodies: well-formed forms read back as what was
    //! sent (or refused on the field that broke a rule), and any bytes at all give a form or
    //! a 400, never a panic.

    use super::*;
    use crate::model::Code;
    use proptest::prelude::*;

    const BOUNDARY: &str = "lockbox-proptest-boundary";

    /// Reads `body`, delivered in chunks of `chunk` bytes, as the upload endpoint would.
    fn read(body: Vec<u8>, chunk: usize, max: usize) -> SecretForm {
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
            .chunks(chunk.max(1))
            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
            .collect();
        let stream = futures::stream::iter(chunks);
        let data = MultipartData::Server(multer::Multipart::new(stream, BOUNDARY));
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(read_secret_form(data, max))
    }

    /// A form as a browser encodes it: each part's name, optional file name, and bytes.
    fn encode(parts: &[(String, bool, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, file, bytes) in parts {
            out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let filename = if *file { "; filename=\"f.txt\"" } else { "" };
            out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n")
                    .as_bytes(),
            );
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        out
    }

    fn bytes_like() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            3 => ".{0,40}".prop_map(String::into_bytes),
            1 => "(ab\r\n){0,20}".prop_map(String::into_bytes),
            1 => prop::collection::vec(any::<u8>(), 0..60),
            1 => (0usize..5000).prop_map(|n| vec![b'x'; n]),
        ]
    }

    fn part() -> impl Strategy<Value = (String, bool, Vec<u8>)> {
        (
            prop::sample::select(vec![
                "name",
                "description",
                "value",
                "file",
                "text_area",
                "other",
            ]),
            any::<bool>(),
            bytes_like(),
        )
            .prop_map(|(n, file, b)| {
                let b = if n == "text_area" && file {
                    b"true".to_vec()
                } else {
                    b
                };
                (n.to_string(), n == "file", b)
            })
    }

    proptest! {
        #[test]
        fn well_formed_forms_read_back(
            parts in prop::collection::vec(part(), 0..7),
            chunk in 1usize..200,
            max in 1usize..3000,
        ) {
            let form = read(encode(&parts), chunk, max);
            let last = |n: &str| parts.iter().rev().find(|(name, _, _)| name == n).map(|p| &p.2);
            let mut refused: Vec<(String, String)> = Vec::new();
            if let Some(AppError::Validation { fields, .. }) = &form.error {
                for f in fields {
                    prop_assert!(["name", "description", "value"].contains(&f.field.as_str()), "{f:?}");
                    prop_assert!(f.code == Code::TooLong || f.code == Code::NotUtf8, "{f:?}");
                    refused.push((f.field.clone(), f.code.clone()));
                }
            } else {
                prop_assert!(form.error.is_none(), "{:?}", form.error);
            }
            prop_assert!(form.value.len() <= max);
            prop_assert_eq!(
                refused.iter().any(|(f, c)| f == "value" && c == "too_long"),
                parts.iter().any(|(n, _, b)| (n == "value" || n == "file") && b.len() > max),
            );
            // With nothing refused, the value is what was sent: the last file chosen wins over
            // the last typed value, which has its CRLFs undone when it came from the page.
            if refused.is_empty() {
                let text_area = parts
                    .iter()
                    .rev()
                    .find(|(n, _, b)| n == "text_area" && b.len() <= MAX_TEXT_FIELD)
                    .is_some_and(|p| p.2 == b"true");
                let file = parts.iter().rev().find(|(n, _, b)| n == "file" && !b.is_empty());
                let expected = match (file, last("value")) {
                    (Some(f), _) => String::from_utf8(f.2.clone()).unwrap(),
                    (None, Some(v)) => {
                        let v = String::from_utf8(v.clone()).unwrap();
                        if text_area { v.replace("\r\n", "\n") } else { v }
                    }
                    (None, None) => String::new(),
                };
                prop_assert_eq!(form.value.expose(), expected.as_str());
            }
            if let Some(name) = last("name") {
                if name.len() <= MAX_TEXT_FIELD {
                    prop_assert_eq!(form.name.as_bytes(), if std::str::from_utf8(name).is_ok() { &name[..] } else { b"" });
                } else {
                    prop_assert!(refused.iter().any(|(f, c)| f == "name" && c == "too_long"));
                }
            }
        }

        #[test]
        fn any_bytes_give_a_form_or_a_bad_request(
            body in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..400),
                (prop::collection::vec(part(), 0..4), any::<prop::sample::Index>(), any::<u8>())
                    .prop_map(|(parts, at, byte)| {
                        let mut b = encode(&parts);
                        let i = at.index(b.len());
                        b[i] = byte;
                        b
                    }),
                (prop::collection::vec(part(), 0..4), any::<prop::sample::Index>())
                    .prop_map(|(parts, at)| {
                        let mut b = encode(&parts);
                        b.truncate(at.index(b.len() + 1));
                        b
                    }),
            ],
            chunk in 1usize..64,
        ) {
            let form = read(body, chunk, 100);
            prop_assert!(form.value.len() <= 100);
            if let Some(e) = &form.error {
                prop_assert!(matches!(e.status(), 400 | 422), "{e:?}");
                for f in e.field_errors() {
                    prop_assert!(f.code == Code::TooLong || f.code == Code::NotUtf8, "{f:?}");
                }
            }
        }
    }
}
