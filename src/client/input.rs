//! Reading what must never be a command-line argument (any user on the machine can read
//! another's arguments in `/proc`): tokens and secret values come from a file or from
//! standard input, and from a hidden prompt when standard input is a terminal.

use super::error::ClientError;
use std::io::{IsTerminal, Read};
use std::path::Path;
use zeroize::Zeroizing;

/// The whole of a file, as UTF-8 text, exactly as stored.
pub fn file_text(path: &Path, what: &str) -> Result<Zeroizing<String>, ClientError> {
    let bytes = std::fs::read(path).map(Zeroizing::new).map_err(|e| {
        ClientError::usage(format!("cannot read {what} from {}: {e}", path.display()))
    })?;
    utf8(bytes, &format!("{}", path.display()))
}

/// All of standard input, exactly as sent (a trailing line break is part of the value: pipe
/// with `printf %s`, not `echo`, when it should not be); or, from a terminal, one line typed
/// at a hidden prompt.
pub fn stdin_text(prompt: &str) -> Result<Zeroizing<String>, ClientError> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| ClientError::usage(format!("cannot read from the terminal: {e}")));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| ClientError::usage(format!("cannot read standard input: {e}")))?;
    utf8(bytes, "standard input")
}

fn utf8(bytes: Zeroizing<Vec<u8>>, source: &str) -> Result<Zeroizing<String>, ClientError> {
    match std::str::from_utf8(&bytes) {
        // Copied once into a zeroizing string; the bytes are wiped when dropped.
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => Err(ClientError::usage(format!(
            "{source} is not UTF-8 text (Lockbox keeps text values: PEM keys, tokens, \
             kubeconfigs; encode binary data with base64 first)"
        ))),
    }
}
