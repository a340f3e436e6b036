//! Field rules that request bodies of every domain share (the validator crate's `custom`
//! functions). A field's rule of a single domain stays in that domain's model.

use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::error::FieldError;

/// 422 `blank` for a text of spaces only (its length is checked by `length`).
pub fn validate_not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// Turns validator's nested errors into a flat list of dotted field paths.
pub fn flatten_validation_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| default_message(&e.code, e));
                    out.push(FieldError::new(path.clone(), e.code.to_string(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

fn default_message(code: &str, e: &validator::ValidationError) -> String {
    let param = |k: &str| e.params.get(k).map(|v| v.to_string());
    match code {
        "length" => {
            // A list counts its items; a map, its entries; a text, its characters.
            let unit = match e.params.get("value") {
                Some(serde_json::Value::Array(_)) => "items",
                Some(serde_json::Value::Object(_)) => "entries",
                _ => "characters",
            };
            let counted = unit != "characters";
            match (param("min"), param("max")) {
                (Some(min), Some(max)) if counted => {
                    format!("must have between {min} and {max} {unit}")
                }
                (Some(min), Some(max)) => format!("must be between {min} and {max} {unit} long"),
                (Some(min), None) if counted => format!("must have at least {min} {unit}"),
                (Some(min), None) => format!("must be at least {min} {unit} long"),
                (None, Some(max)) if counted => format!("must have at most {max} {unit}"),
                (None, Some(max)) => format!("must be at most {max} {unit} long"),
                _ => "has the wrong length".into(),
            }
        }
        "email" => "must be a valid email address".into(),
        // The bounds, as the spec's `minimum` and `maximum` say them.
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "is out of range".into(),
        },
        other => format!("is invalid ({other})"),
    }
}
