#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    lockbox::server::cli::run().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser bundle starts from `lockbox::hydrate`; this binary is built with `ssr`.
}
