//! Kubernetes resource quantities (`250m`, `128Mi`, `1e3`): one grammar, used by the spec
//! check, the catalog's declared `sizeLimit`s and the JSON Schema, so they cannot disagree.
//! It sits below every stage that reads a quantity.

/// The grammar of [`is_quantity`], for the JSON Schema.
pub const QUANTITY_REGEX: &str =
    r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][-+]?[0-9]+)?$";

/// A Kubernetes resource quantity: digits with an optional fraction and a suffix (a unit
/// or a decimal exponent, as YAML writes `1e3`).
pub fn is_quantity(text: &str) -> bool {
    let suffixes = [
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    !number.is_empty()
        && number.chars().filter(|c| *c == '.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit())
        && (suffixes.contains(&suffix) || is_exponent(suffix))
}

fn is_exponent(suffix: &str) -> bool {
    let Some(rest) = suffix.strip_prefix(['e', 'E']) else {
        return false;
    };
    let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_accept_kubernetes_forms() {
        for q in ["100m", "1", "0.5", "512Mi", "2Gi", "1.5G", "1e3", "5E-1"] {
            assert!(is_quantity(q), "{q}");
        }
        for q in ["", "m", "1.2.3", "12 Mi", "10mb", "1e", "-1"] {
            assert!(!is_quantity(q), "{q}");
        }
    }
}
