#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    // No core dumps and no ptrace by same-uid processes: the memory holds keys and values.
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        eprintln!("lockbox: cannot mark the process non-dumpable: {e}");
    }
    // kube's TLS needs a process-wide crypto provider chosen before any client exists.
    lockbox::server::kube::backend::install_crypto_provider();
    lockbox::server::cli::run().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser bundle starts from `lockbox::hydrate`; this binary is built with `ssr`.
}
