//! Safe zip extraction for action archives.

use std::fs;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use whirl_runtime::{Result, RuntimeError};

/// Bounds on what an archive may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    pub max_total_bytes: u64,
    pub max_entries: usize,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_total_bytes: 256 * 1024 * 1024,
            max_entries: 10_000,
        }
    }
}

fn zerr(msg: impl Into<String>) -> RuntimeError {
    RuntimeError::Zip(msg.into())
}

/// Lexically normalizes `rel` (relative to the archive root); `None` if it leaves the root.
fn normalize(rel: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Extracts `archive` into `dest` (which must exist). Refuses entries with `..` or absolute paths,
/// symlinks that point outside `dest`, more than `max_entries` entries and more than
/// `max_total_bytes` of content. Unix permission bits (executable files) are kept.
pub fn extract_zip<R: Read + Seek>(archive: R, dest: &Path, limits: ZipLimits) -> Result<u64> {
    let mut zip = zip::ZipArchive::new(archive).map_err(|e| zerr(e.to_string()))?;
    if zip.len() > limits.max_entries {
        return Err(zerr(format!(
            "the archive has {} entries, more than the limit of {}",
            zip.len(),
            limits.max_entries
        )));
    }
    let root = dest.canonicalize()?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| zerr(e.to_string()))?;
        let raw_name = entry.name().to_string();
        let rel = normalize(Path::new(&raw_name))
            .filter(|_| !raw_name.split(['/', '\\']).any(|c| c == ".."))
            .ok_or_else(|| zerr(format!("illegal path in archive: {raw_name}")))?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = root.join(&rel);
        if entry.is_dir() {
            fs::create_dir_all(&target)?;
            check_inside(&root, &target)?;
            continue;
        }
        let parent = target.parent().unwrap_or(&root).to_path_buf();
        fs::create_dir_all(&parent)?;
        check_inside(&root, &parent)?;
        if entry.is_symlink() {
            let mut link = String::new();
            (&mut entry)
                .take(4096)
                .read_to_string(&mut link)
                .map_err(|e| zerr(e.to_string()))?;
            let link_path = Path::new(&link);
            let rel_parent = rel.parent().unwrap_or(Path::new(""));
            if link_path.is_absolute() || normalize(&rel_parent.join(link_path)).is_none() {
                return Err(zerr(format!(
                    "symbolic link leads outside the archive: {raw_name} -> {link}"
                )));
            }
            symlink(link_path, &target)?;
            continue;
        }
        let mode = entry.unix_mode().unwrap_or(0o644);
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)?;
        let remaining = limits.max_total_bytes.saturating_sub(total);
        let copied = io::copy(&mut (&mut entry).take(remaining + 1), &mut out)?;
        total += copied;
        if total > limits.max_total_bytes {
            return Err(zerr(format!(
                "the archive expands to more than {} bytes",
                limits.max_total_bytes
            )));
        }
        out.flush()?;
        let perm = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
        fs::set_permissions(&target, fs::Permissions::from_mode(perm))?;
    }
    Ok(total)
}

fn check_inside(root: &Path, p: &Path) -> Result<()> {
    let real = p.canonicalize()?;
    if real.starts_with(root) {
        Ok(())
    } else {
        Err(zerr(format!(
            "path leads outside the archive: {}",
            p.display()
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    fn build(entries: &[(&str, &[u8])], links: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, SimpleFileOptions::default().unix_permissions(0o755))
                .unwrap();
            w.write_all(data).unwrap();
        }
        for (name, target) in links {
            w.add_symlink(*name, *target, SimpleFileOptions::default())
                .unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn extracts_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let z = build(
            &[("a/b.txt", b"hi"), ("exec", b"#!/bin/sh\n")],
            &[("a/l", "b.txt")],
        );
        let n = extract_zip(Cursor::new(z), dir.path(), ZipLimits::default()).unwrap();
        assert_eq!(n, 12);
        assert_eq!(fs::read(dir.path().join("a/l")).unwrap(), b"hi");
        let mode = fs::metadata(dir.path().join("exec"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);

        for (entries, links) in [
            (vec![("../evil", &b"x"[..])], vec![]),
            (vec![("/abs", &b"x"[..])], vec![]),
            (vec![], vec![("l", "../../etc/passwd")]),
            (vec![], vec![("l", "/etc/passwd")]),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let z = build(&entries, &links);
            assert!(extract_zip(Cursor::new(z), dir.path(), ZipLimits::default()).is_err());
        }
    }

    #[test]
    fn enforces_limits() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![0u8; 10_000];
        let z = build(&[("a", &big), ("b", &big)], &[]);
        let limits = ZipLimits {
            max_total_bytes: 15_000,
            max_entries: 10,
        };
        assert!(extract_zip(Cursor::new(z.clone()), dir.path(), limits).is_err());
        let dir = tempfile::tempdir().unwrap();
        let limits = ZipLimits {
            max_total_bytes: 1 << 20,
            max_entries: 1,
        };
        assert!(extract_zip(Cursor::new(z), dir.path(), limits).is_err());
    }
}
