//! The data directory and the database files in it hold everything needed to decrypt every
//! secret (the key file and the database): only the server's own user may read them. The
//! directory is 0700 and each file 0600; a looser existing one is tightened, with a warning.

use std::{
    fs::{self, DirBuilder, OpenOptions, Permissions},
    io,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::Path,
};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) as 0700, or tightens an existing one to at most 0700.
pub fn secure_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    tighten(dir, DIR_MODE)
}

/// Makes the SQLite database at `db` 0600 before SQLite opens it: an existing file (and its
/// `-wal` and `-shm`) is tightened, a missing one is created empty with that mode. SQLite gives
/// the `-wal` and `-shm` files it creates later the database file's mode.
pub fn secure_sqlite_files(db: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(db)
    {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => tighten(db, FILE_MODE)?,
        Err(e) => return Err(e),
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        secure_existing_file(Path::new(&name))?;
    }
    Ok(())
}

/// Tightens an existing file to at most 0600 (nothing to do if it does not exist).
pub fn secure_existing_file(path: &Path) -> io::Result<()> {
    match tighten(path, FILE_MODE) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Clears every permission bit of `path` beyond `allowed`, saying so when it had to.
fn tighten(path: &Path, allowed: u32) -> io::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o7777;
    if mode & !allowed != 0 {
        fs::set_permissions(path, Permissions::from_mode(mode & allowed))?;
        tracing::warn!(
            path = %path.display(),
            was = format!("{mode:o}"),
            now = format!("{:o}", mode & allowed),
            "tightened the permissions of the data directory or a database file: only the \
             server's user may read them"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn creates_and_tightens() {
        let tmp = tempfile::tempdir().unwrap();
        let fresh = tmp.path().join("a/b");
        secure_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        let loose = tmp.path().join("loose");
        fs::create_dir(&loose).unwrap();
        fs::set_permissions(&loose, Permissions::from_mode(0o755)).unwrap();
        secure_dir(&loose).unwrap();
        assert_eq!(mode(&loose), 0o700);

        let db = loose.join("lockbox.db");
        secure_sqlite_files(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        fs::set_permissions(&db, Permissions::from_mode(0o644)).unwrap();
        let wal = loose.join("lockbox.db-wal");
        fs::write(&wal, b"").unwrap();
        fs::set_permissions(&wal, Permissions::from_mode(0o666)).unwrap();
        secure_sqlite_files(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
    }
}
