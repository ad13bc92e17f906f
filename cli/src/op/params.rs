//! `--param key=value` lists: parsed once, checked against the op's known keys, read typed.

use crate::error::{CliError, Result};
use std::collections::BTreeMap;

/// The parameters given to one op.
pub struct Params {
    op: &'static str,
    values: BTreeMap<String, String>,
}

impl Params {
    /// Parses `key=value` items, refusing keys not in `known` and keys given twice.
    pub fn parse(op: &'static str, items: &[String], known: &[&str]) -> Result<Self> {
        let mut values = BTreeMap::new();
        for item in items {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| CliError::Usage(format!("--param `{item}`: write it as key=value")))?;
            let key = key.trim();
            if !known.contains(&key) {
                let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                return Err(CliError::UnknownParam { op: op.into(), name: key.into(), known });
            }
            if values.insert(key.to_string(), value.trim().to_string()).is_some() {
                return Err(CliError::param(op, key, value, "given twice"));
            }
        }
        Ok(Params { op, values })
    }

    fn get<T>(&self, key: &str, parse: impl Fn(&str) -> Option<T>, expected: &str) -> Result<Option<T>> {
        match self.values.get(key) {
            None => Ok(None),
            Some(v) => {
                parse(v).map(Some).ok_or_else(|| CliError::param(self.op, key, v, format!("expected {expected}")))
            }
        }
    }

    /// A float parameter.
    pub fn f32(&self, key: &str) -> Result<Option<f32>> {
        self.get(key, |v| v.parse().ok(), "a number")
    }

    /// A non-negative integer parameter.
    pub fn usize(&self, key: &str) -> Result<Option<usize>> {
        self.get(key, |v| v.parse().ok(), "a non-negative integer")
    }

    /// A boolean parameter (`true`/`false`/`1`/`0`).
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(
            key,
            |v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            },
            "true or false",
        )
    }

    /// A comma-separated list of non-negative integers.
    pub fn usize_list(&self, key: &str) -> Result<Option<Vec<usize>>> {
        self.get(key, |v| v.split(',').map(|d| d.trim().parse().ok()).collect(), "comma-separated integers (0,2,1,3)")
    }

    /// One of `choices`, returned as the matching value.
    pub fn choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> Result<Option<T>> {
        let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
        self.get(
            key,
            |v| choices.iter().find(|c| c.0.eq_ignore_ascii_case(v)).map(|c| c.1),
            &format!("one of {}", names.join(", ")),
        )
    }

    /// The error for a required parameter that was not given.
    pub fn missing(&self, key: &str, what: &str) -> CliError {
        CliError::Usage(format!("{}: missing --param {key}=... ({what})", self.op))
    }
}
