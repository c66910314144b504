//! Where a secret (a private key, a token, a password) comes from, and reading it safely.
//!
//! Secrets are never written inline in the config: the config names a file, or a systemd
//! credential that systemd decrypts into `$CREDENTIALS_DIRECTORY`. A file that group or others
//! could read is refused, because its secret must be assumed already leaked.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use toml::Value;
use zeroize::Zeroizing;

use super::Problem;

/// A reference to a secret, as written in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// `{ file = "/etc/takedown/x.key" }`: a file readable only by its owner.
    File(PathBuf),
    /// `{ credential = "x.key" }`: a file in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`
    /// or `LoadCredentialEncrypted=`).
    Credential(String),
}

/// Largest secret file read; keys and tokens are a few kilobytes, so anything bigger is a
/// mistake in the path.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

impl SecretSource {
    /// Parses the config value of a secret field. `base` resolves relative file paths.
    pub(crate) fn from_value(field: &str, value: Option<&Value>, base: &Path) -> Result<Self, Problem> {
        const HOW: &str = "write { file = \"/path/to/file\" } or { credential = \"name\" }";
        let table = match value {
            None => return Err(Problem::new(field, format!("missing; {HOW}"))),
            Some(Value::String(_)) => {
                return Err(Problem::new(
                    field,
                    format!("secrets are never written inline; {HOW} (and remove the secret from this file)"),
                ));
            }
            Some(Value::Table(table)) => table,
            Some(other) => {
                return Err(Problem::new(
                    field,
                    format!("must be a table, found {}; {HOW}", other.type_str()),
                ));
            }
        };
        let keys: Vec<&str> = table.keys().map(String::as_str).collect();
        match (keys.as_slice(), table.get("file"), table.get("credential")) {
            (["file"], Some(Value::String(path)), _) if !path.is_empty() => {
                Ok(SecretSource::File(base.join(path)))
            }
            (["credential"], _, Some(Value::String(name))) if is_plain_file_name(name) => {
                Ok(SecretSource::Credential(name.clone()))
            }
            (["credential"], _, Some(_)) => Err(Problem::new(
                format!("{field}.credential"),
                "must be a plain file name inside $CREDENTIALS_DIRECTORY (no '/')",
            )),
            _ => Err(Problem::new(field, format!("has an unexpected shape; {HOW}"))),
        }
    }

    /// Reads the secret. `credentials_dir` is `$CREDENTIALS_DIRECTORY`, if set.
    pub fn read(&self, credentials_dir: Option<&Path>) -> Result<Zeroizing<Vec<u8>>, String> {
        let path = match self {
            SecretSource::File(path) => path.clone(),
            SecretSource::Credential(name) => match credentials_dir {
                Some(dir) => dir.join(name),
                None => {
                    return Err(format!(
                        "credential {name:?} needs $CREDENTIALS_DIRECTORY, which systemd sets for \
                         LoadCredential=; outside systemd write {{ file = \"/path\" }} instead"
                    ));
                }
            },
        };
        read_private_file(&path)
    }
}

impl SecretSource {
    /// Reads a secret that is one line of text (a token, a password): surrounding whitespace,
    /// such as the newline an editor adds, is dropped; an empty or non-UTF-8 secret is an error.
    pub fn read_text(&self, credentials_dir: Option<&Path>) -> Result<Zeroizing<String>, String> {
        let bytes = self.read(credentials_dir)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| "is not UTF-8 text".to_owned())?.trim();
        if text.is_empty() {
            return Err("is empty; write the secret into the file".to_owned());
        }
        Ok(Zeroizing::new(text.to_owned()))
    }
}

fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// Reads a file that must be private to its owner.
fn read_private_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let shown = path.display();
    let metadata = fs::metadata(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => format!("file not found: {shown}"),
        _ => format!("cannot read {shown}: {err}"),
    })?;
    if !metadata.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    let mode = metadata.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{shown} is readable by group or others (mode {mode:04o}); run `chmod 600 {shown}` \
             and consider the secret exposed"
        ));
    }
    if metadata.len() > MAX_SECRET_BYTES {
        return Err(format!(
            "{shown} is {} bytes; a secret file is at most {MAX_SECRET_BYTES}",
            metadata.len()
        ));
    }
    let mut contents = Zeroizing::new(Vec::with_capacity(metadata.len() as usize));
    fs::File::open(path)
        .and_then(|file| file.take(MAX_SECRET_BYTES).read_to_end(&mut contents))
        .map_err(|err| format!("cannot read {shown}: {err}"))?;
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn value(text: &str) -> Value {
        text.parse::<toml::Table>().unwrap().remove("k").unwrap()
    }

    #[test]
    fn inline_secrets_are_refused_with_the_fix() {
        let err =
            SecretSource::from_value("tls.private_key", Some(&value("k = \"-----BEGIN\"")), Path::new("/"))
                .unwrap_err();
        assert_eq!(err.field, "tls.private_key");
        assert!(err.message.contains("never written inline"), "{err}");
    }

    #[test]
    fn file_and_credential_forms_parse() {
        let base = Path::new("/etc/takedown");
        assert_eq!(
            SecretSource::from_value("f", Some(&value("k = { file = \"a.key\" }")), base).unwrap(),
            SecretSource::File(PathBuf::from("/etc/takedown/a.key"))
        );
        assert_eq!(
            SecretSource::from_value("f", Some(&value("k = { credential = \"a.key\" }")), base).unwrap(),
            SecretSource::Credential("a.key".into())
        );
        assert!(SecretSource::from_value("f", Some(&value("k = { credential = \"../a\" }")), base).is_err());
        assert!(
            SecretSource::from_value("f", Some(&value("k = { file = \"a\", credential = \"b\" }")), base)
                .is_err()
        );
    }

    #[test]
    fn group_readable_key_files_are_refused_and_private_ones_read() {
        let dir = std::env::temp_dir().join(format!("takedown-secret-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        fs::write(&path, b"secret").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = SecretSource::File(path.clone()).read(None).unwrap_err();
        assert!(err.contains("mode 0640") && err.contains("chmod 600"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(SecretSource::File(path).read(None).unwrap().as_slice(), b"secret");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn credentials_need_the_systemd_directory() {
        let err = SecretSource::Credential("k".into()).read(None).unwrap_err();
        assert!(err.contains("CREDENTIALS_DIRECTORY"), "{err}");
    }
}
