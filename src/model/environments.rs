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
    ) || suffix.strip_prefix(['e', 'E']).is_some_and(|exp| {
        // The API server reads the exponent as a 32-bit number: a longer one is refused there,
        // or misread.
        !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit()) && exp.parse::<i32>().is_ok()
    });
    if raw.len() <= 64 && number_ok && suffix_ok {
        Ok(Some(raw.to_string()))
    } else {
        Err(RuleError::new(
            Code::NotAQuantity,
            format!("{label} must be a Kubernetes quantity such as {example} (not {raw:?})."),
        ))
    }
}

/// A quantity accepted by [`quantity`] as exact decimal digits (no leading zeros; empty for
/// zero) times ten to a power, so any two compare exactly whatever their size.
fn quantity_value(q: &str) -> (Vec<u8>, i64) {
    let end = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let mut exp = -(frac.len() as i64);
    /// Times 1024^power, digit by digit from the lowest (1024^6 = 2^60: no overflow).
    fn binary(digits: &[u8], power: u32) -> Vec<u8> {
        let factor = 1u128 << (10 * power);
        let mut carry = 0u128;
        let mut out = Vec::with_capacity(digits.len() + 19);
        for d in digits.iter().rev() {
            let v = u128::from(*d) * factor + carry;
            out.push((v % 10) as u8);
            carry = v / 10;
        }
        while carry > 0 {
            out.push((carry % 10) as u8);
            carry /= 10;
        }
        out.reverse();
        out
    }
    match suffix {
        "" => {}
        "n" => exp -= 9,
        "u" => exp -= 6,
        "m" => exp -= 3,
        "k" => exp += 3,
        "M" => exp += 6,
        "G" => exp += 9,
        "T" => exp += 12,
        "P" => exp += 15,
        "E" => exp += 18,
        "Ki" => digits = binary(&digits, 1),
        "Mi" => digits = binary(&digits, 2),
        "Gi" => digits = binary(&digits, 3),
        "Ti" => digits = binary(&digits, 4),
        "Pi" => digits = binary(&digits, 5),
        "Ei" => digits = binary(&digits, 6),
        e => exp += e[1..].parse::<i64>().unwrap_or(0),
    }
    let leading = digits.iter().take_while(|d| **d == 0).count();
    digits.drain(..leading);
    while digits.last() == Some(&0) {
        digits.pop();
        exp += 1;
    }
    (digits, exp)
}

/// Compares two quantities accepted by [`quantity`], exactly.
fn compare_quantities(a: &str, b: &str) -> std::cmp::Ordering {
    let ((da, ea), (db, eb)) = (quantity_value(a), quantity_value(b));
    match (da.is_empty(), db.is_empty()) {
        (true, true) => return std::cmp::Ordering::Equal,
        (true, false) => return std::cmp::Ordering::Less,
        (false, true) => return std::cmp::Ordering::Greater,
        _ => {}
    }
    // Where the leading digit stands, then the digits from there.
    let (ma, mb) = (da.len() as i64 + ea, db.len() as i64 + eb);
    ma.cmp(&mb).then_with(|| da.cmp(&db))
}

/// The API server refuses a container whose request is above its limit.
fn request_within_limit(
    (request_label, limit_label): (&str, &str),
    request: &Option<String>,
    limit: &Option<String>,
) -> Result<(), String> {
    match (request, limit) {
        (Some(r), Some(l)) if compare_quantities(r, l).is_gt() => Err(format!(
            "{request_label} {r} is above the {limit_label} {l}; a request may be at most its \
             limit."
        )),
        _ => Ok(()),
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
    if let (Ok(request), Ok(limit)) = (&cpu_request, &cpu_limit) {
        if let Err(m) = request_within_limit(("CPU request", "CPU limit"), request, limit) {
            errors.push(FieldError::new(
                "cpu_request",
                RuleError::new(Code::OutOfRange, m),
            ));
        }
    }
    if let (Ok(request), Ok(limit)) = (&memory_request, &memory_limit) {
        if let Err(m) = request_within_limit(("Memory request", "memory limit"), request, limit) {
            errors.push(FieldError::new(
                "memory_request",
                RuleError::new(Code::OutOfRange, m),
            ));
        }
    }
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

    /// Found by fuzzing (fuzz/corpus/environment): the API server reads a quantity's exponent
    /// as a 32-bit number, so `1e33333333333` passed here and was then refused or misread at
    /// every launch of the environment.
    #[test]
    fn quantity_exponents_fit_what_the_api_server_reads() {
        assert!(quantity("q", "", "1e2147483647").is_ok());
        for bad in ["1e33333333333", "1e2147483648", "5E99999999999999999999"] {
            assert!(quantity("q", "", bad).is_err(), "{bad}");
        }
        let mut f = good();
        f.cpu_limit = "1e33333333333".into();
        let errors = validate(&f).unwrap_err();
        assert_eq!(errors[0].field, "cpu_limit", "{errors:?}");
    }

    /// Found by fuzzing: a request above its limit passed, and the API server refuses such a
    /// container ("must be less than or equal to cpu limit"), so no launch could start.
    #[test]
    fn requests_are_not_above_their_limits() {
        // (request, limit, accepted)
        let cpu = [
            ("500m", "0.4", false),
            ("500m", "0.5", true),
            ("1.5", "1500m", true),
            ("1501m", "1.5", false),
            ("1e3", "1k", true),
            ("2", "1e33", true),
            ("1e34", "1e33", false),
            ("0", "1m", true),
        ];
        for (request, limit, ok) in cpu {
            let mut f = good();
            f.cpu_request = request.into();
            f.cpu_limit = limit.into();
            let got = validate(&f);
            assert_eq!(got.is_ok(), ok, "{request} / {limit}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.len(), 1);
                assert_eq!(e[0].field, "cpu_request");
                assert!(e[0].message.contains("CPU limit"), "{e:?}");
            }
        }
        let memory = [
            ("1Gi", "1073741824", true),
            ("1073741825", "1Gi", false),
            ("1025Mi", "1Gi", false),
            ("1e9", "1Gi", true),
            ("2e9", "1Gi", false),
            ("1Ei", "1152921504606846976", true),
            ("1152921504606846977", "1Ei", false),
            ("0.5Ki", "512", true),
        ];
        for (request, limit, ok) in memory {
            let mut f = good();
            f.memory_request = request.into();
            f.memory_limit = limit.into();
            let got = validate(&f);
            assert_eq!(got.is_ok(), ok, "{request} / {limit}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e[0].field, "memory_request");
            }
        }
        // Either alone is fine.
        let mut f = good();
        f.memory_request = "8Gi".into();
        f.memory_limit = String::new();
        assert!(validate(&f).is_ok());
    }

    #[test]
    fn text_area_lines() {
        assert_eq!(lines("/bin/sh\r\n-c\r\n\r\n"), ["/bin/sh", "-c"]);
        assert!(lines("").is_empty());
    }
}
