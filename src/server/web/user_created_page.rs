//! A browser form post (no JavaScript, or the users page's plain form) that creates an account
//! is answered with a page showing its one-time password (see `web::shown_once`): the only place
//! the password is ever shown.

use super::shown_once::{self, escape};
use crate::model::users::CreatedUser;
use axum::{extract::Request, middleware::Next, response::Response};

pub const PATH: &str = "/api/admin/users/create";

pub async fn layer(req: Request, next: Next) -> Response {
    shown_once::answer(req, next, PATH, "the new-account page", page).await
}

/// The page: the site's look, the one-time password in a read-only field described by the
/// warning that it is shown only now, Copy (revealed by the script, which runs only with this
/// response's nonce), and the way back to the users page.
pub fn page(created: &CreatedUser, nonce: &str) -> String {
    let name = escape(&created.user.username);
    let password = escape(&created.password);
    let nonce = escape(nonce);
    let role = if created.user.is_admin {
        "an admin account"
    } else {
        "an account"
    };
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>New account · Lockbox</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/pkg/lockbox.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header">
<a class="brand" href="/">Lockbox</a>
<nav aria-label="Main"><a href="/settings/secrets">Secrets</a> <a href="/sessions">Sessions</a> <a href="/settings/tokens">Tokens</a> <a href="/settings/account">Account</a> <a href="/admin">Admin</a></nav>
</header>
<main id="main" tabindex="-1">
<div class="page-head"><h1>Account {name} created</h1></div>
<section class="card token-once" aria-labelledby="once-heading">
<h2 id="once-heading">Give {name} their one-time password</h2>
<form class="once" method="get" action="/admin/users">
<p class="hint" id="one-time-hint">You created {role}. This is the only time the password is shown: Lockbox keeps only a hash of it. Hand it to {name} over a safe channel; they must replace it with their own password when they first sign in.</p>
<label for="one-time-password">One-time password for {name}</label>
<input id="one-time-password" type="text" readonly value="{password}" autocomplete="off" spellcheck="false" aria-describedby="one-time-hint">
<div class="buttons">
<button type="button" id="copy-password" hidden>Copy</button>
<span role="status" class="copied" id="copy-status"></span>
<button type="submit" class="secondary">Done: back to the users</button>
</div>
</form>
</section>
</main>
<script nonce="{nonce}">
(function () {{
  var button = document.getElementById("copy-password");
  var field = document.getElementById("one-time-password");
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
    use crate::model::users::UserSummary;

    #[test]
    fn the_page_shows_the_password_once_escaped_with_the_nonce() {
        let created = CreatedUser {
            user: UserSummary {
                username: "bob".into(),
                is_admin: false,
                disabled: false,
                must_change_password: true,
                created_at: 0,
                last_sign_in_at: None,
            },
            password: "ab<c&d".into(),
        };
        let html = page(&created, "n0nce");
        assert_eq!(html.matches("ab&lt;c&amp;d").count(), 1);
        assert!(!html.contains("ab<c"));
        assert!(html.contains("<script nonce=\"n0nce\">"));
        assert!(html.contains("Account bob created"));
    }
}
