//! A browser form post (no JavaScript) that creates a token is answered with a page showing
//! the token (see `web::shown_once`), in a read-only field with a Copy button (the button needs
//! JavaScript; the text can always be selected and copied).

use super::shown_once::{self, escape};
use crate::model::tokens::CreatedToken;
use axum::{extract::Request, middleware::Next, response::Response};

pub const PATH: &str = "/api/tokens/create";

pub async fn layer(req: Request, next: Next) -> Response {
    shown_once::answer(req, next, PATH, "the token page", page).await
}

/// The page: the site's look (its stylesheet, header and landmarks), the token in a read-only
/// field described by the warning that it is shown only now, Copy (revealed by the script,
/// which runs only with this response's nonce), and the way back.
pub fn page(created: &CreatedToken, nonce: &str) -> String {
    let name = escape(&created.info.name);
    let token = escape(&created.token);
    let nonce = escape(nonce);
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>New token · Lockbox</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/pkg/lockbox.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header">
<a class="brand" href="/">Lockbox</a>
<nav aria-label="Main"><a href="/settings/secrets">Secrets</a> <a href="/sessions">Sessions</a> <a href="/settings/tokens">Tokens</a> <a href="/settings/account">Account</a></nav>
</header>
<main id="main" tabindex="-1">
<div class="page-head"><h1>Token {name} created</h1></div>
<section class="card token-once" aria-labelledby="once-heading">
<h2 id="once-heading">Copy your new token {name} now</h2>
<form class="once" method="get" action="/settings/tokens">
<p class="hint" id="new-token-hint">This is the only time the token is shown. Copy it now and keep it somewhere safe: Lockbox keeps only a hash of it and cannot show it again.</p>
<label for="new-token">Your new token</label>
<input id="new-token" type="text" readonly value="{token}" autocomplete="off" spellcheck="false" aria-describedby="new-token-hint">
<div class="buttons">
<button type="button" id="copy-token" hidden>Copy</button>
<span role="status" class="copied" id="copy-status"></span>
<button type="submit" class="secondary">Done: back to your tokens</button>
</div>
</form>
</section>
</main>
<script nonce="{nonce}">
(function () {{
  var button = document.getElementById("copy-token");
  var field = document.getElementById("new-token");
  var status = document.getElementById("copy-status");
  button.hidden = false;
  button.addEventListener("click", function () {{
    field.select();
    var done = function () {{ status.textContent = "Copied to the clipboard."; }};
    var manual = function () {{ status.textContent = "Selected: press Ctrl+C to copy."; }};
    if (navigator.clipboard) {{ navigator.clipboard.writeText(field.value).then(done, manual); }} else {{ manual(); }}
  }});
}})();
</script>
</body>
</html>
"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tokens::TokenInfo;

    #[test]
    fn the_page_escapes_what_it_shows_and_carries_the_nonce() {
        let created = CreatedToken {
            token: "lbx_pat_abc".into(),
            info: TokenInfo {
                id: "1".into(),
                name: "<script>x</script>".into(),
                display: "lbx_pat_abc".into(),
                scopes: vec![],
                created_at: 0,
                expires_at: 0,
                last_used_at: None,
            },
        };
        let html = page(&created, "n0nce");
        assert!(html.contains("value=\"lbx_pat_abc\""));
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!html.contains("<script>x"));
        assert!(html.contains("<script nonce=\"n0nce\">"));
    }
}
