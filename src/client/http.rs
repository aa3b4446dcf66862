//! The client's HTTP layer: a POST of a url-encoded form to `/api/<endpoint>` with
//! `Authorization: Bearer <token>`, answered with JSON or with the server's JSON error.

use super::error::ClientError;
use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use std::time::Duration;
use zeroize::Zeroizing;

/// A launch on Kubernetes waits for the API server; anything longer means trouble.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Api {
    http: reqwest::Client,
    server: String,
    /// Marked sensitive, so no `Debug` output of the request shows it.
    auth: HeaderValue,
}

impl Api {
    pub fn new(server: &str, token: &str) -> Result<Self, ClientError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ClientError::usage("the token is not a valid header value"))?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            // The API never redirects an API client; a redirect means the URL is wrong (say,
            // http:// to a server that sends everyone to https://), and following it would
            // repeat the request somewhere the user did not name.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("lockbox-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::server(format!("cannot set up HTTP: {e}")))?;
        Ok(Self {
            http,
            server: server.to_string(),
            auth,
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// Calls `/api/<endpoint>` with `form` and returns the JSON answer.
    pub async fn call(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Result<serde_json::Value, ClientError> {
        let url = format!("{}/api/{endpoint}", self.server);
        let reply = self
            .http
            .post(&url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(reqwest::Body::from(Bytes::from_owner(encode_form(form))))
            .send()
            .await
            .map_err(|e| no_answer(&self.server, &e))?;
        let status = reply.status().as_u16();
        let body = reply
            .text()
            .await
            .map_err(|e| no_answer(&self.server, &e))?;
        if !(200..300).contains(&status) {
            return Err(ClientError::from_reply(status, &body));
        }
        serde_json::from_str(&body).map_err(|_| {
            ClientError::server(format!(
                "{url} did not answer with JSON (HTTP {status}); is {} a Lockbox server?",
                self.server
            ))
        })
    }

    /// Calls and reads the answer as `T`.
    pub async fn call_as<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Result<(T, serde_json::Value), ClientError> {
        let json = self.call(endpoint, form).await?;
        let typed = serde_json::from_value(json.clone()).map_err(|e| {
            ClientError::server(format!(
                "unexpected answer from /api/{endpoint} ({e}); are the client and the server \
                 the same version?"
            ))
        })?;
        Ok((typed, json))
    }
}

fn no_answer(server: &str, e: &reqwest::Error) -> ClientError {
    // reqwest's text names the URL (never a header); the source says why (refused, TLS, …).
    let mut why = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        why.push_str(&format!(": {s}"));
        source = s.source();
    }
    let what = if e.is_timeout() {
        "did not answer in time"
    } else {
        "cannot be reached"
    };
    ClientError::server(format!("{server} {what} ({why})"))
}

/// `application/x-www-form-urlencoded`, written into one buffer of exactly the right size
/// (measured first, so it never reallocates and leaves a copy behind) that is wiped when the
/// HTTP client drops it: the form may hold a secret value.
pub fn encode_form(form: &[(&str, &str)]) -> Zeroizing<Vec<u8>> {
    let encoded_len = |s: &str| {
        form_urlencoded::byte_serialize(s.as_bytes())
            .map(str::len)
            .sum::<usize>()
    };
    let len = form
        .iter()
        .map(|(k, v)| encoded_len(k) + 1 + encoded_len(v))
        .sum::<usize>()
        + form.len().saturating_sub(1);
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    for (i, (k, v)) in form.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend(form_urlencoded::byte_serialize(k.as_bytes()).flat_map(str::bytes));
        out.push(b'=');
        out.extend(form_urlencoded::byte_serialize(v.as_bytes()).flat_map(str::bytes));
    }
    debug_assert_eq!(out.len(), len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_exactly_and_in_one_buffer() {
        let form = [
            ("name", "DB_PASSWORD"),
            ("value", "p@ss w0rd&=+\n\u{e9}"),
            ("secrets[0][secret]", "A"),
            ("empty", ""),
        ];
        let body = encode_form(&form);
        assert_eq!(body.len(), body.capacity());
        let text = std::str::from_utf8(&body).unwrap();
        let decoded: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let expected: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(decoded, expected);
        assert!(encode_form(&[]).is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_exit_5() {
        // A port nothing listens on: bind one, note it, let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let api = Api::new(&format!("http://127.0.0.1:{port}"), "lbx_sentinel_token").unwrap();
        let e = api.call("whoami", &[]).await.unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert!(e.message().contains("cannot be reached"), "{}", e.message());
        assert!(!e.text().contains("lbx_sentinel_token"));
        assert!(!format!("{e:?}").contains("lbx_sentinel_token"));
    }
}
