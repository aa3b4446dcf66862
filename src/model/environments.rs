//! The rules for an environment (what a session runs), as typed on the admin page or given to
//! `lockbox environments add`: one function, [`validate`], checks both, so both refuse the same
//! inputs with the same messages, each naming its field. Pure, so it can run anywhere.

use super::{projects, rules, Code, FieldError, RuleError};
use serde::{Deserialize, Serialize};

/// The most words a container command, or arguments, may have.
pub const MAX_WORDS: usize = 64;
/// The longest container command word or argument, in bytes.
pub const MAX_WORD_BYTES: usize = 16 * 1024;
/// The longest image reference (registry, path, tag and digest).
pub const MAX_IMAGE: usize = 512;
/// The longest local command line, in bytes.
pub const MAX_LOCAL_COMMAND: usize = 64 * 1024;

/// An environment as typed. Every field is text, the way a form sends it; the command line
/// passes its flags through unchanged, so both go through [`validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentForm {
    pub name: String,
    pub description: String,
    pub image: String,
    /// Container command words (the page takes one per line, see [`lines`]).
    pub command: Vec<String>,
    pub args: Vec<String>,
    /// Empty for none.
    pub port: String,
    pub local_command: String,
    pub cpu_request: String,
    pub memory_request: String,
    pub cpu_limit: String,
    pub memory_limit: String,
}

/// A checked environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentSpec {
    pub name: String,
    pub description: String,
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub port: Option<u16>,
    pub local_command: String,
    pub cpu_request: Option<String>,
    pub memory_request: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
}

/// The words of a text area, one per line (a trailing `\r` dropped, blank lines skipped).
pub fn lines(raw: &str) -> Vec<String> {
    raw.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// An environment's name: a DNS-1123 label (it appears in labels and the admin UI).
pub fn name(name: &str) -> Result<(), RuleError> {
    rules::dns1123_label(name)
        .map_err(|e| e.map_message(|m| format!("Environment name {name:?} {m}.")))
}

fn image(image: &str) -> Result<(), RuleError> {
    if image.is_empty() {
        return Err(RuleError::new(
            Code::Required,
            "Image is required (a container image reference, such as \
             docker.io/library/busybox:1.37).",
        ));
    }
    if image.len() > MAX_IMAGE {
        return Err(RuleError::new(
            Code::TooLong,
            format!("Image may be at most {MAX_IMAGE} characters."),
        ));
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RuleError::new(
            Code::InvalidCharacter,
            format!("Image {image:?} must be an image reference without spaces."),
        ));
    }
    Ok(())
}

fn port(raw: &str) -> Result<Option<u16>, RuleError> {
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(RuleError::new(
            Code::NotAPort,
            format!(
                "Port must be a whole number from 1 to 65535, or empty for none (not {raw:?})."
            ),
        )),
    }
}

fn words(label: &str, words: &[String]) -> Result<(), RuleError> {
    if words.len() > MAX_WORDS {
        return Err(RuleError::new(
            Code::TooLong,
            format!(
                "{label} may have at most {MAX_WORDS} entries (it has {}).",
                words.len()
            ),
        ));
    }
    if let Some(i) = words.iter().position(|w| w.len() > MAX_WORD_BYTES) {
        return Err(RuleError::new(
            Code::TooLong,
            format!(
                "{label} entry {} is longer than {} KiB.",
                i + 1,
                MAX_WORD_BYTES / 1024
            ),
        ));
    }
    if let Some(i) = words.iter().position(|w| w.contains('\0')) {
        return Err(RuleError::new(
            Code::NulByte,
            format!("{label} entry {} contains a NUL character.", i + 1),
        ));
    }
    Ok(())
}

fn local_command(c: &str) -> Result<(), RuleError> {
    if c.len() > MAX_LOCAL_COMMAND {
        return Err(RuleError::new(
            Code::TooLong,
            format!(
                "Local command may be at most {} KiB.",
                MAX_LOCAL_COMMAND / 1024
            ),
        ));
    }
    if c.contains('\0') {
        return Err(RuleError::new(
            Code::NulByte,
            "Local command contains a NUL character.",
        ));
    }
    Ok(())
}

/// A Kubernetes quantity as resources use them: a decimal number with an optional suffix
/// (`500m`, `0.5`, `2`, `256Mi`, `1G`, `1e3`).
fn quantity(label: &str, example: &str, raw: &str) -> Result<Option<String>, RuleError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let number_end = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (number, suffix) = raw.split_at(number_end);
    let number_ok = !number.is_empty()
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.matches('.').count() <= 1;
    let suffix_ok = matches!(
        suffix,
        "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .is_some_and(|exp| !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit()));
    if raw.len() <= 64 && number_ok && suffix_ok {
        Ok(Some(raw.to_string()))
    } else {
        Err(RuleError::new(
            Code::NotAQuantity,
            format!("{label} must be a Kubernetes quantity such as {example} (not {raw:?})."),
        ))
    }
}

/// Checks every field of an environment; each problem names its field. Names, image, port and
/// quantities are taken as typed but for surrounding spaces.
pub fn validate(form: &EnvironmentForm) -> Result<EnvironmentSpec, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut check = |field: &str, r: Result<(), RuleError>| {
        if let Err(m) = r {
            errors.push(FieldError::new(field, m));
        }
    };
    let name_ = form.name.trim();
    check("name", name(name_));
    let description = form.description.trim();
    check(
        "description",
        projects::description(description)
            .map_err(|e| e.map_message(|m| m.replace("A description", "Description"))),
    );
    let image_ = form.image.trim();
    check("image", image(image_));
    check("command", words("Command", &form.command));
    check("args", words("Arguments", &form.args));
    check("local_command", local_command(&form.local_command));
    let port_ = port(form.port.trim()).map_err(|m| errors.push(FieldError::new("port", m)));
    let mut q = |field: &str, label: &str, example: &str, raw: &str| {
        quantity(label, example, raw.trim()).map_err(|m| errors.push(FieldError::new(field, m)))
    };
    let cpu_request = q("cpu_request", "CPU request", "500m or 2", &form.cpu_request);
    let memory_request = q(
        "memory_request",
        "Memory request",
        "256Mi or 1Gi",
        &form.memory_request,
    );
    let cpu_limit = q("cpu_limit", "CPU limit", "500m or 2", &form.cpu_limit);
    let memory_limit = q(
        "memory_limit",
        "Memory limit",
        "256Mi or 1Gi",
        &form.memory_limit,
    );
    match (port_, cpu_request, memory_request, cpu_limit, memory_limit) {
        (Ok(port), Ok(cpu_request), Ok(memory_request), Ok(cpu_limit), Ok(memory_limit))
            if errors.is_empty() =>
        {
            Ok(EnvironmentSpec {
                name: name_.to_string(),
                description: description.to_string(),
                image: image_.to_string(),
                command: form.command.clone(),
                args: form.args.clone(),
                port,
                local_command: form.local_command.clone(),
                cpu_request,
                memory_request,
                cpu_limit,
                memory_limit,
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> EnvironmentForm {
        EnvironmentForm {
            name: "py-3-12".into(),
            image: "docker.io/library/python:3.12".into(),
            port: "8888".into(),
            cpu_request: "500m".into(),
            memory_limit: "1Gi".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_environment_passes() {
        let spec = validate(&good()).unwrap();
        assert_eq!(spec.port, Some(8888));
        assert_eq!(spec.cpu_request.as_deref(), Some("500m"));
        assert_eq!(spec.memory_request, None);
    }

    #[test]
    fn each_rule_names_its_field() {
        type Case = (fn(&mut EnvironmentForm), &'static str, &'static str);
        let cases: &[Case] = &[
            (
                |f| f.name = "Bad_Name".into(),
                "name",
                "not_a_dns1123_label",
            ),
            (|f| f.name = String::new(), "name", "required"),
            (|f| f.image = String::new(), "image", "required"),
            (|f| f.image = "a b".into(), "image", "invalid_character"),
            (|f| f.port = "0".into(), "port", "not_a_port"),
            (|f| f.port = "http".into(), "port", "not_a_port"),
            (|f| f.port = "70000".into(), "port", "not_a_port"),
            (
                |f| f.cpu_request = "lots".into(),
                "cpu_request",
                "not_a_quantity",
            ),
            (
                |f| f.memory_limit = "1 Gi".into(),
                "memory_limit",
                "not_a_quantity",
            ),
            (
                |f| f.memory_limit = ".5Gi".into(),
                "memory_limit",
                "not_a_quantity",
            ),
            (
                |f| f.description = "x".repeat(501),
                "description",
                "too_long",
            ),
            (|f| f.command = vec!["a\0b".into()], "command", "nul_byte"),
            (|f| f.args = vec![String::new(); 65], "args", "too_long"),
            (
                |f| f.local_command = "a\0".into(),
                "local_command",
                "nul_byte",
            ),
        ];
        for (edit, field, code) in cases {
            let mut f = good();
            edit(&mut f);
            let errors = validate(&f).unwrap_err();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].field, *field, "{errors:?}");
            assert_eq!(errors[0].code, *code, "{errors:?}");
        }
    }

    #[test]
    fn quantities() {
        for ok in ["1", "0.5", "500m", "256Mi", "1G", "2Ei", "1e3"] {
            assert!(quantity("q", "", ok).is_ok(), "{ok}");
        }
        for bad in ["m", "1.", "1..2", "-1", "1mi", "1e", "1 G", "1GiB"] {
            assert!(quantity("q", "", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_area_lines() {
        assert_eq!(lines("/bin/sh\r\n-c\r\n\r\n"), ["/bin/sh", "-c"]);
        assert!(lines("").is_empty());
    }
}
