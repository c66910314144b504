//! Reads typed values out of a parsed TOML table while collecting every problem.
//!
//! serde stops at the first mistake; an operator fixing a config wants them all at once, each
//! named by its field path. [`Section`] walks one table, records what it was asked for, and
//! reports wrong types, missing fields and unknown keys (usually typos) as [`Problem`]s.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::{Problem, SecretSource};

/// One TOML table being read, with the dotted path that names it in messages.
pub(crate) struct Section<'t> {
    path: String,
    table: &'t Table,
    read: BTreeSet<String>,
}

impl<'t> Section<'t> {
    /// The top level of a document; `path` prefixes every field (empty for the config itself).
    pub(crate) fn root(path: impl Into<String>, table: &'t Table) -> Self {
        Self { path: path.into(), table, read: BTreeSet::new() }
    }

    /// The dotted path of `key` in this section, quoting keys that TOML would have to quote
    /// (such as `""`), so that every path names something.
    pub(crate) fn field(&self, key: &str) -> String {
        let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let key = if bare { key.to_owned() } else { format!("{key:?}") };
        if self.path.is_empty() { key } else { format!("{}.{key}", self.path) }
    }

    fn value(&mut self, key: &str) -> Option<&'t Value> {
        self.read.insert(key.to_owned());
        self.table.get(key)
    }

    /// A sub-table that must exist.
    pub(crate) fn table(&mut self, key: &str, problems: &mut Vec<Problem>) -> Option<Section<'t>> {
        match self.value(key) {
            Some(Value::Table(table)) => {
                Some(Section { path: self.field(key), table, read: BTreeSet::new() })
            }
            Some(other) => {
                problems.push(wrong_type(self.field(key), "a table", other));
                None
            }
            None => {
                problems.push(Problem::new(self.field(key), format!("missing; add a [{key}] table")));
                None
            }
        }
    }

    /// Whether the table holds `key` at all (to tell "left out" from "given but wrong").
    pub(crate) fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// A sub-table that may be absent (a service the deployment does not use).
    pub(crate) fn optional_table(&mut self, key: &str, problems: &mut Vec<Problem>) -> Option<Section<'t>> {
        match self.value(key) {
            None => None,
            Some(_) => self.table(key, problems),
        }
    }

    /// A string that must be present and non-empty.
    pub(crate) fn string(&mut self, key: &str, problems: &mut Vec<Problem>) -> Option<&'t str> {
        match self.value(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
            Some(Value::String(_)) => {
                problems.push(Problem::new(self.field(key), "is empty; give a value"));
                None
            }
            Some(other) => {
                problems.push(wrong_type(self.field(key), "a string", other));
                None
            }
            None => {
                problems.push(Problem::new(self.field(key), "missing; this field is required"));
                None
            }
        }
    }

    /// An integer from 1 to `max` that may be left out.
    pub(crate) fn optional_count(&mut self, key: &str, max: u64, problems: &mut Vec<Problem>) -> Option<u64> {
        match self.value(key)? {
            Value::Integer(n) => match u64::try_from(*n) {
                Ok(count) if (1..=max).contains(&count) => Some(count),
                _ => {
                    problems
                        .push(Problem::new(self.field(key), format!("{n} is out of range; use 1 to {max}")));
                    None
                }
            },
            other => {
                problems.push(wrong_type(self.field(key), "a positive integer", other));
                None
            }
        }
    }

    /// A boolean that may be left out.
    pub(crate) fn optional_bool(&mut self, key: &str, problems: &mut Vec<Problem>) -> Option<bool> {
        match self.value(key)? {
            Value::Boolean(b) => Some(*b),
            other => {
                problems.push(wrong_type(self.field(key), "true or false", other));
                None
            }
        }
    }

    /// A non-empty array of integers from 1 to `max` that must be present.
    pub(crate) fn counts(&mut self, key: &str, max: u64, problems: &mut Vec<Problem>) -> Option<Vec<u64>> {
        let field = self.field(key);
        match self.value(key) {
            Some(Value::Array(items)) if !items.is_empty() => {
                let mut counts = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Integer(n) => match u64::try_from(*n) {
                            Ok(count) if (1..=max).contains(&count) => counts.push(count),
                            _ => problems.push(Problem::new(
                                format!("{field}[{i}]"),
                                format!("{n} is out of range; use 1 to {max}"),
                            )),
                        },
                        other => problems.push(wrong_type(format!("{field}[{i}]"), "an integer", other)),
                    }
                }
                Some(counts)
            }
            Some(Value::Array(_)) => {
                problems.push(Problem::new(field, "is empty; list at least one"));
                None
            }
            Some(other) => {
                problems.push(wrong_type(field, "an array of integers", other));
                None
            }
            None => {
                problems.push(Problem::new(field, "missing; this field is required"));
                None
            }
        }
    }

    /// A non-empty string that may be absent.
    pub(crate) fn optional_string(&mut self, key: &str, problems: &mut Vec<Problem>) -> Option<&'t str> {
        match self.value(key) {
            None => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
            Some(other) => {
                problems.push(wrong_type(self.field(key), "a non-empty string", other));
                None
            }
        }
    }

    /// A table of non-empty strings keyed by name (`{ a = "x", b = "y" }`) that may be absent.
    pub(crate) fn optional_string_map(
        &mut self,
        key: &str,
        problems: &mut Vec<Problem>,
    ) -> Vec<(&'t str, &'t str)> {
        let field = self.field(key);
        match self.value(key) {
            None => Vec::new(),
            Some(Value::Table(table)) => table
                .iter()
                .filter_map(|(name, value)| match value {
                    Value::String(s) if !s.trim().is_empty() => Some((name.as_str(), s.as_str())),
                    other => {
                        problems.push(wrong_type(format!("{field}.{name}"), "a non-empty string", other));
                        None
                    }
                })
                .collect(),
            Some(other) => {
                problems.push(wrong_type(field, "a table of strings", other));
                Vec::new()
            }
        }
    }

    /// An array of non-empty strings that must be present (it may be empty).
    pub(crate) fn strings(&mut self, key: &str, problems: &mut Vec<Problem>) -> Option<Vec<&'t str>> {
        let field = self.field(key);
        match self.value(key) {
            Some(Value::Array(items)) => {
                let mut strings = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) if !s.trim().is_empty() => strings.push(s.as_str()),
                        other => {
                            problems.push(wrong_type(format!("{field}[{i}]"), "a non-empty string", other))
                        }
                    }
                }
                Some(strings)
            }
            Some(other) => {
                problems.push(wrong_type(field, "an array of strings", other));
                None
            }
            None => {
                problems.push(Problem::new(field, "missing; this field is required (it may be [])"));
                None
            }
        }
    }

    /// A path that must be present; a relative path is taken relative to `base` (the directory
    /// of the file being read), so a config and the files beside it can move together.
    pub(crate) fn path(&mut self, key: &str, base: &Path, problems: &mut Vec<Problem>) -> Option<PathBuf> {
        self.string(key, problems).map(|s| base.join(s))
    }

    /// An array of tables (`[[key]]`), each as a section named `key[i]`.
    pub(crate) fn tables(&mut self, key: &str, problems: &mut Vec<Problem>) -> Vec<Section<'t>> {
        let field = self.field(key);
        match self.value(key) {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Value::Table(table) => {
                        Some(Section { path: format!("{field}[{i}]"), table, read: BTreeSet::new() })
                    }
                    other => {
                        problems.push(wrong_type(format!("{field}[{i}]"), "a table", other));
                        None
                    }
                })
                .collect(),
            Some(other) => {
                problems.push(wrong_type(field, "an array of tables", other));
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// A secret reference (`{ file = … }` or `{ credential = … }`); see [`SecretSource`].
    pub(crate) fn secret(
        &mut self,
        key: &str,
        base: &Path,
        problems: &mut Vec<Problem>,
    ) -> Option<SecretSource> {
        let field = self.field(key);
        SecretSource::from_value(&field, self.value(key), base).map_err(|p| problems.push(p)).ok()
    }

    /// [`Section::secret`] for a secret that may be left out.
    pub(crate) fn optional_secret(
        &mut self,
        key: &str,
        base: &Path,
        problems: &mut Vec<Problem>,
    ) -> Option<SecretSource> {
        self.value(key)?;
        self.secret(key, base, problems)
    }

    /// Reports every key that nothing asked for: almost always a typo.
    pub(crate) fn finish(self, problems: &mut Vec<Problem>) {
        for key in self.table.keys() {
            if !self.read.contains(key) {
                let known: Vec<&str> = self.read.iter().map(String::as_str).collect();
                problems.push(Problem::new(
                    self.field(key),
                    format!("unknown field; the fields here are: {}", known.join(", ")),
                ));
            }
        }
    }
}

/// A problem saying what type was expected and what was found.
pub(crate) fn wrong_type(field: String, expected: &str, found: &Value) -> Problem {
    Problem::new(field, format!("must be {expected}, found {}", found.type_str()))
}

/// Runs a section parser on a TOML text, for the sections' unit tests.
#[cfg(test)]
pub(crate) fn parse_text<T>(
    text: &str,
    parse: impl FnOnce(&mut Section<'_>, &mut Vec<Problem>) -> T,
) -> (T, Vec<Problem>) {
    let document = parse_document("t.toml", text).unwrap();
    let mut problems = Vec::new();
    let mut root = Section::root("", &document);
    let parsed = parse(&mut root, &mut problems);
    (parsed, problems)
}

/// Parses TOML text into a table, describing a syntax error with its line and column.
pub(crate) fn parse_document(label: &str, text: &str) -> Result<Table, Problem> {
    text.parse::<Table>().map_err(|err| {
        let position = err.span().map(|span| line_and_column(text, span.start));
        let at = position.map(|(line, col)| format!(" at line {line}, column {col}")).unwrap_or_default();
        Problem::new(label, format!("not valid TOML{at}: {}", err.message()))
    })
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_missing_wrong_and_unknown_field_at_once() {
        let table = parse_document("t", "a = 1\nb = \"\"\ntypo = true\n").unwrap();
        let mut problems = Vec::new();
        let mut section = Section::root("top", &table);
        assert!(section.string("a", &mut problems).is_none());
        assert!(section.string("b", &mut problems).is_none());
        assert!(section.string("c", &mut problems).is_none());
        section.finish(&mut problems);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["top.a", "top.b", "top.c", "top.typo"]);
        assert!(problems[0].message.contains("found integer"), "{}", problems[0]);
    }

    #[test]
    fn keys_that_need_quotes_are_quoted_in_field_paths() {
        // Found by the config_parse fuzz target: an empty key gave an empty field path.
        let table = parse_document("t", "\"\" = 1\n\"a b\" = 2\n").unwrap();
        let mut problems = Vec::new();
        Section::root("", &table).finish(&mut problems);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["\"\"", "\"a b\""]);
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = parse_document("config.toml", "a = 1\nb = = 2\n").unwrap_err();
        assert!(err.message.contains("line 2"), "{err}");
    }
}
