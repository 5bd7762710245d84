//! The data directory layout (DESIGN.md section 5) and its writer lock.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::Error;
use crate::schema::Table;

/// Paths inside one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The layout rooted at `root` (nothing is created).
    pub fn new(root: &Path) -> DataDir {
        DataDir {
            root: root.to_path_buf(),
        }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `state/`: the sled database.
    pub fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    /// `tables/`.
    pub fn tables(&self) -> PathBuf {
        self.root.join("tables")
    }

    /// `tables/<TABLE>.parquet`.
    pub fn table_file(&self, table: Table) -> PathBuf {
        self.tables().join(format!("{}.parquet", table.name()))
    }

    /// `journal/`.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal")
    }

    /// `runs/`.
    pub fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }

    /// `status.json`.
    pub fn status_file(&self) -> PathBuf {
        self.root.join("status.json")
    }

    /// Create the directories a writer needs, checking that they are writable.
    pub fn create(&self) -> Result<(), Error> {
        for dir in [
            self.root.clone(),
            self.tables(),
            self.journal(),
            self.runs(),
        ] {
            std::fs::create_dir_all(&dir).map_err(|source| Error::DataDir {
                path: dir.clone(),
                source,
            })?;
        }
        // A probe write: a read-only directory fails here with a clear message, before any
        // state is touched.
        let probe = self.root.join(".write-probe");
        std::fs::write(&probe, b"ok")
            .and_then(|_| std::fs::remove_file(&probe))
            .map_err(|source| Error::DataDir {
                path: self.root.clone(),
                source,
            })
    }

    /// Take the writer lock (`flock` on `lock`), failing at once when another process holds it.
    pub fn lock(&self) -> Result<WriterLock, Error> {
        let path = self.root.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::DataDir {
                path: path.clone(),
                source,
            })?;
        // SAFETY: flock on a valid, owned file descriptor; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(Error::Locked { path });
            }
            return Err(Error::DataDir { path, source: err });
        }
        Ok(WriterLock { _file: file })
    }
}

/// Held while a process writes the data directory; the kernel releases it when the process dies.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

/// Write `bytes` to `path` atomically (temp file, fsync, rename, fsync directory).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let io = |source| Error::DataDir {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::create(&tmp).map_err(io)?;
    if let Err(e) = f
        .write_all(bytes)
        .and_then(|_| crate::failpoint::fail_write(path))
    {
        drop(f);
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)
}
