//! How one layer is laid over the merged TOML table: a parsed `local.toml`, or one
//! `KANBAN__SECTION__KEY` variable. A layer may only replace keys the defaults already have, with a
//! value of the same type; it never checks ranges or choices (the loader does, after all layers).

use std::fmt;

use toml::{Table, Value};

use super::ConfigError;

/// A TOML error on one line, so the `ConfigError` stays a single line.
pub(super) fn one_line(e: &impl fmt::Display) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

fn section<'a>(table: &'a mut Table, name: &str) -> Result<&'a mut Table, ConfigError> {
    match table.get_mut(name) {
        Some(Value::Table(t)) => Ok(t),
        _ => Err(ConfigError::new(name, "unknown section")),
    }
}

/// Overlay a parsed `local.toml`: every key must exist in the defaults with the same type.
pub(super) fn merge_file(base: &mut Table, overlay: Table) -> Result<(), ConfigError> {
    for (sec_name, sec_value) in overlay {
        let Value::Table(entries) = sec_value else {
            return Err(ConfigError::new(&sec_name, "expected a [section] table"));
        };
        let target = section(base, &sec_name)?;
        for (key, value) in entries {
            let full = format!("{sec_name}.{key}");
            let Some(current) = target.get(&key) else {
                return Err(ConfigError::new(full, "unknown key"));
            };
            if current.type_str() != value.type_str() {
                return Err(ConfigError::new(
                    full,
                    format!("expected {}, got {}", current.type_str(), value.type_str()),
                ));
            }
            target.insert(key, value);
        }
    }
    Ok(())
}

/// Overlay one `KANBAN__SECTION__KEY` variable, parsed by the type of the default value.
pub(super) fn merge_env(base: &mut Table, rest: &str, raw: &str) -> Result<(), ConfigError> {
    let env_name = format!("KANBAN__{rest}");
    let Some((sec, key)) = rest.split_once("__") else {
        return Err(ConfigError::new(env_name, "expected KANBAN__<SECTION>__<KEY>"));
    };
    let (sec, key) = (sec.to_ascii_lowercase(), key.to_ascii_lowercase());
    let full = format!("{sec}.{key}");
    let target = section(base, &sec).map_err(|_| ConfigError::new(&full, "unknown key"))?;
    let Some(current) = target.get(&key) else {
        return Err(ConfigError::new(full, "unknown key"));
    };
    let value = match current {
        Value::Integer(_) => Value::Integer(
            raw.trim().parse().map_err(|_| ConfigError::new(&full, format!("expected an integer, got {raw:?}")))?,
        ),
        Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Boolean(true),
            "false" | "0" => Value::Boolean(false),
            _ => return Err(ConfigError::new(full, format!("expected true or false, got {raw:?}"))),
        },
        Value::Array(_) => Value::Array(
            raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect(),
        ),
        _ => Value::String(raw.to_owned()),
    };
    target.insert(key, value);
    Ok(())
}
