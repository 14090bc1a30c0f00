//! Reading a file the user names, within bounds: only a regular file (after symlinks), and
//! only up to a size limit. A spec that is `/dev/zero`, a FIFO or a directory is refused at
//! once by what it is, instead of reading gigabytes or waiting forever for a writer.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The most a spec may weigh. A spec of 5,000 components takes about 1 MiB with every
/// parameter spelled out; real systems are far below.
pub const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// The contents of the regular file at `path`, refused when larger than `limit` bytes.
/// `what` names the file in errors ("a spec").
pub fn read_regular(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    // Look before opening: opening a FIFO for reading blocks until someone writes to it.
    let meta = std::fs::metadata(path).map_err(read_err)?;
    check(path, &meta, limit, what)?;
    let file = File::open(path).map_err(read_err)?;
    // The path may have been swapped since the first look: check what was opened.
    check(path, &file.metadata().map_err(read_err)?, limit, what)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, limit, what));
    }
    Ok(bytes)
}

fn check(path: &Path, meta: &Metadata, limit: u64, what: &str) -> Result<()> {
    if !meta.is_file() {
        let kind = kind_of(meta);
        let help = if meta.is_dir() {
            format!(
                "give the path of {what} file inside it, like {}/dpatterns.yaml",
                path.display()
            )
        } else {
            format!("give the path of {what} file; {what} is read only from a regular file")
        };
        return Err(Error::Input {
            path: path.to_path_buf(),
            reason: format!("it is {kind}, not a regular file"),
            help,
        });
    }
    if meta.len() > limit {
        return Err(too_large(path, limit, what));
    }
    Ok(())
}

fn too_large(path: &Path, limit: u64, what: &str) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        reason: format!("it is larger than {}, the most {what} may be", size(limit)),
        help: format!("check that this is {what}; even thousands of components fit in far less"),
    }
}

fn size(bytes: u64) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(unix)]
fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn kind_of(meta: &Metadata) -> &'static str {
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_with_the_limit_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, vec![b'#'; 2049]).unwrap();
        let err = read_regular(&path, 2048, "a spec").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read {}: it is larger than 2048 bytes, the most a spec may be",
                path.display()
            )
        );
        assert_eq!(read_regular(&path, 4096, "a spec").unwrap().len(), 2049);
    }

    #[test]
    fn a_directory_is_refused_by_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_regular(dir.path(), 10, "a spec").unwrap_err();
        assert!(
            err.to_string()
                .ends_with(": it is a directory, not a regular file"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_device_behind_a_symlink_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("spec.yaml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = read_regular(&link, 10, "a spec").unwrap_err();
        assert!(
            err.to_string()
                .ends_with(": it is a character device, not a regular file"),
            "{err}"
        );
    }
}
