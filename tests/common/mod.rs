//! Test harness: spawns the real `lockbox` binary on 127.0.0.1:0 against SQLite or PostgreSQL,
//! captures its logs, and drives it over HTTP.
#![allow(dead_code)]

use base64::Engine;
use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async scenario once per database: `both!(name, scenario_fn);`
#[macro_export]
macro_rules! both {
    ($name:ident, $scenario:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $scenario($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::common::postgres_available().await {
                    $scenario($crate::common::Backend::Postgres).await;
                }
            }
        }
    };
}

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn pg_admin_url() -> String {
    std::env::var("LOCKBOX_TEST_PG_URL").unwrap_or_else(|_| PG_ADMIN_URL.to_string())
}

/// Set to `1` to run without PostgreSQL: its variants are then skipped (said on stderr).
/// Without it, a PostgreSQL that does not answer fails the test: a skip printed by a passing
/// test is captured by the test runner, and nobody would see it.
pub const SKIP_POSTGRES: &str = "LOCKBOX_SKIP_POSTGRES";

/// Whether PostgreSQL answers (a connection as the tests' administrator, at
/// `LOCKBOX_TEST_PG_URL` or 127.0.0.1:5432). The one check, also run by `.ci/test` (through
/// `startup`'s `postgres_answers`): without PostgreSQL it panics, unless [`SKIP_POSTGRES`] is
/// `1` and `CI` is not `true`, in which case the PostgreSQL variant is skipped.
pub async fn postgres_available() -> bool {
    use sqlx::Connection;
    match sqlx::PgConnection::connect(&pg_admin_url()).await {
        Ok(conn) => {
            let _ = conn.close().await;
            true
        }
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            let skip = std::env::var(SKIP_POSTGRES).is_ok_and(|v| v == "1");
            if ci || !skip {
                panic!(
                    "PostgreSQL did not answer at {}: {e}. Start it, or set {SKIP_POSTGRES}=1 to \
                     skip the PostgreSQL variants (not allowed under CI=true)",
                    pg_admin_url()
                );
            }
            eprintln!(
                "\n!!!!! POSTGRESQL NOT AVAILABLE ({e}): SKIPPING THE POSTGRESQL VARIANT \
                 ({SKIP_POSTGRES}=1) !!!!!\n"
            );
            false
        }
    }
}

/// A database made for one test and dropped after it.
pub struct TestDb {
    pub url: Option<String>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self {
                url: None,
                pg_name: None,
            },
            Backend::Postgres => {
                use sqlx::Connection;
                let name = format!("lockbox_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&pg_admin_url()).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = pg_admin_url();
                let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
                Self {
                    url: Some(url),
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside async code: use a small runtime of its own on another thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

pub fn random_master_key() -> String {
    let bytes: [u8; 32] = std::array::from_fn(|_| rand_byte());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn rand_byte() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0]
}

/// Options for one server process.
#[derive(Clone)]
pub struct ServerOptions {
    pub master_key: Option<String>,
    pub extra_env: Vec<(String, String)>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            master_key: Some(random_master_key()),
            extra_env: Vec::new(),
        }
    }
}

/// One running server process. Killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub logs: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap()).into_owned()
    }

    /// Whether the process has been reaped already: its pid may be anyone's now, so it must
    /// not be signalled again (std keeps the status once waited for).
    fn reaped(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn kill9(&mut self) {
        if self.reaped() {
            return;
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// SIGTERM first, so the server stops its sessions and removes their files; SIGKILL if it
    /// has not exited after 5 s.
    fn drop(&mut self) {
        if self.reaped() {
            return;
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test installation: a data directory and a database, and the server running on them.
pub struct TestApp {
    pub backend: Backend,
    pub db: TestDb,
    pub data_dir: tempfile::TempDir,
    pub options: ServerOptions,
    pub server: Option<Server>,
    /// Logs of servers that were stopped, kept for the sentinel checks.
    pub old_logs: String,
}

/// Why a server failed to start, with what it printed.
#[derive(Debug)]
pub struct StartFailure {
    pub status: Option<std::process::ExitStatus>,
    pub output: String,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, ServerOptions::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: ServerOptions) -> Self {
        let db = TestDb::new(backend).await;
        let data_dir = tempfile::tempdir().unwrap();
        let mut app = Self {
            backend,
            db,
            data_dir,
            options,
            server: None,
            old_logs: String::new(),
        };
        app.start().expect("server starts");
        app
    }

    pub fn base(&self) -> &str {
        &self.server.as_ref().expect("server running").base
    }

    pub fn data_path(&self) -> &Path {
        self.data_dir.path()
    }

    fn command(&self, options: &ServerOptions, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockbox"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LOCKBOX_DATA_DIR", self.data_dir.path())
            .env("LOCKBOX_LISTEN", "127.0.0.1:0")
            .env("LOCKBOX_ALLOW_SIGNUP", "true")
            // Debug logs: the sentinel checks look at everything the server could print.
            .env("LOCKBOX_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = &self.db.url {
            cmd.env("LOCKBOX_DATABASE_URL", url);
        }
        if let Some(key) = &options.master_key {
            cmd.env("LOCKBOX_MASTER_KEY", key);
        }
        for (k, v) in &options.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts the server with the app's options.
    pub fn start(&mut self) -> Result<(), StartFailure> {
        let options = self.options.clone();
        self.start_with(&options)
    }

    /// Starts a server with other options (a wrong key, say) on the same data.
    pub fn start_with(&mut self, options: &ServerOptions) -> Result<(), StartFailure> {
        self.stop();
        self.server = Some(self.launch(options)?);
        Ok(())
    }

    /// Starts one more server on this installation's data and database, beside any running one
    /// (`extra_env` may point it elsewhere, LOCKBOX_DATA_DIR say). Returns it once it listens.
    pub fn launch(&self, options: &ServerOptions) -> Result<Server, StartFailure> {
        let mut child = self
            .command(options, &["serve"])
            .spawn()
            .expect("spawn lockbox");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let out_sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                out_sink
                    .lock()
                    .unwrap()
                    .extend_from_slice(format!("{line}\n").as_bytes());
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => Ok(Server { child, base, logs }),
            Err(_) => {
                let status = child.try_wait().ok().flatten().or_else(|| {
                    let _ = child.kill();
                    child.wait().ok()
                });
                std::thread::sleep(Duration::from_millis(200));
                let output = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
                Err(StartFailure { status, output })
            }
        }
    }

    /// Runs `lockbox ARGS…` on this installation's data (for the command-line tools).
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.command(&self.options, args)
            .stdout(Stdio::piped())
            .output()
            .expect("run lockbox")
    }

    /// Runs `lockbox ARGS…` on this installation's data with `stdin` as its standard input.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = self
            .command(&self.options, args)
            .stdin(Stdio::piped())
            .spawn()
            .expect("run lockbox");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Stops the server (SIGKILL), keeping its logs.
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.kill9();
            std::thread::sleep(Duration::from_millis(50));
            self.old_logs.push_str(&server.logs());
        }
    }

    /// Everything every server of this app printed so far.
    pub fn all_logs(&self) -> String {
        let mut all = self.old_logs.clone();
        if let Some(s) = &self.server {
            all.push_str(&s.logs());
        }
        all
    }

    /// The server's last log lines, for assertion messages: a 500 says why only in the log.
    pub fn log_tail(&self) -> String {
        let all = self.all_logs();
        let lines: Vec<&str> = all.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("server log (last lines):\n{tail}")
    }

    /// The login-session table (tower-sessions keeps it in its own schema on PostgreSQL).
    pub fn login_sessions_table(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "login_sessions",
            Backend::Postgres => "tower_sessions.login_sessions",
        }
    }

    /// A fresh browser-less client with its own cookie jar.
    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base().to_string(),
        }
    }

    /// Signs an existing user in (with [`PASSWORD`]) on a fresh client and returns it.
    pub async fn login(&self, username: &str) -> Client {
        let client = self.client();
        let r = client
            .post(
                "/api/login",
                &[("username", username), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(
            r.status,
            200,
            "signing {username} in: {}\n{}",
            r.body,
            self.log_tail()
        );
        client
    }

    /// Signs up a new user and returns their signed-in client.
    pub async fn user(&self, username: &str) -> Client {
        let client = self.client();
        let res = client
            .post(
                "/api/signup",
                &[("username", username), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(
            res.status,
            200,
            "signup {username}: {}\n{}",
            res.body,
            self.log_tail()
        );
        client
    }

    /// The bytes of every file in the data directory (the SQLite database, its WAL and so on).
    pub fn data_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for entry in walk(self.data_dir.path()) {
            if let Ok(bytes) = std::fs::read(&entry) {
                out.push((entry, bytes));
            }
        }
        out
    }
}

/// Every byte the installation's database holds, by where it was found: on SQLite the files of
/// the data directory (the database, its WAL); on PostgreSQL, whose data directory is elsewhere,
/// every column of every row of every table of Lockbox's schemas (the audit trail and the
/// login-session store included), a `bytea` as its raw bytes and anything else as its text,
/// and the data directory's files besides. For the "no value in any stored byte" checks.
pub async fn database_bytes(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = app
        .data_files()
        .into_iter()
        .map(|(p, b)| (p.display().to_string(), b))
        .collect();
    let Some(url) = &app.db.url else {
        return out;
    };
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.table_schema, c.table_name, c.column_name, c.data_type \
         FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE t.table_type = 'BASE TABLE' \
           AND c.table_schema NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1, 2, c.ordinal_position",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    for (schema, table, column, data_type) in &columns {
        let col = quote(column);
        let expr = if data_type == "bytea" {
            col
        } else {
            format!("convert_to({col}::text, 'UTF8')")
        };
        let sql = format!("SELECT {expr} FROM {}.{}", quote(schema), quote(table));
        let cells: Vec<Option<Vec<u8>>> = sqlx::query_scalar(&sql)
            .fetch_all(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut bytes = Vec::new();
        for cell in cells.into_iter().flatten() {
            bytes.extend_from_slice(&cell);
            bytes.push(b'\n');
        }
        out.push((format!("{schema}.{table}.{column}"), bytes));
    }
    // The dump covers what matters: the tables a leak would most likely reach are in it.
    for must in [
        "public.audit_events.detail",
        "tower_sessions.login_sessions.data",
    ] {
        assert!(
            out.iter().any(|(name, _)| name == must),
            "{must} missing from the database dump"
        );
    }
    out
}

/// Asserts that no stored byte of the installation's database (see [`database_bytes`]) holds
/// any of `needles`.
pub async fn assert_not_stored(app: &TestApp, needles: &[&str]) {
    let stored = database_bytes(app).await;
    for needle in needles {
        assert!(!needle.is_empty());
        for (place, bytes) in &stored {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{place} holds {needle:?}"
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files.extend(walk(&p));
            } else {
                files.push(p);
            }
        }
    }
    files
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.send(self.http.post(format!("{}{path}", self.base)).form(form))
            .await
    }

    pub async fn post_with_headers(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn create(&self, name: &str, value: &str) -> Reply {
        self.post("/api/secrets/create", &[("name", name), ("value", value)])
            .await
    }

    pub async fn names(&self) -> Vec<String> {
        let res = self.post("/api/secrets/list", &[]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        res.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A well-formed form for `path` (see [`discover_form`]); panics when there is none.
pub async fn well_formed(client: &Client, path: &str) -> Vec<(String, String)> {
    discover_form(client, path)
        .await
        .unwrap_or_else(|problem| panic!("{path}: {problem}"))
}

/// The url-encoded form `path` accepts: arguments are read before anyone is authenticated, so
/// a request missing one is a 400 whoever sends it. Each missing field named in the answer is
/// added (`true` fits text and booleans; `1` where a number is wanted). `Err` when the answers
/// name no field (a multipart endpoint, say).
pub async fn discover_form(client: &Client, path: &str) -> Result<Vec<(String, String)>, String> {
    let mut form: Vec<(String, String)> = Vec::new();
    for _ in 0..12 {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = client.post(path, &pairs).await;
        let message = r.json()["message"].as_str().unwrap_or_default().to_string();
        // Only a failure to read the arguments says "Bad request:"; any other answer came from
        // the function itself, past its authorisation.
        if r.status != 400 || !message.starts_with("Bad request:") {
            return Ok(form);
        }
        if let Some(field) = message.split("missing field `").nth(1) {
            let field = field.split('`').next().unwrap().to_string();
            form.push((field, "true".into()));
        } else if let Some(last) = form.last_mut().filter(|(_, v)| v == "true") {
            last.1 = "1".into();
        } else {
            return Err(format!("cannot make a well-formed request: {message}"));
        }
    }
    Err("too many fields".into())
}

/// Opens the database directly and decrypts every stored value with the master key, the way an
/// auditor with the key would: `(username, secret name, plaintext)`, sorted.
pub async fn decrypt_all(app: &TestApp) -> Vec<(String, String, String)> {
    use lockbox::server::{
        crypto::{self, Kek},
        db,
    };
    let key = app
        .options
        .master_key
        .as_ref()
        .expect("tests use an explicit key");
    let kek = Kek::from_base64(key).unwrap();
    let url = match &app.db.url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", app.data_path().join("lockbox.db").display()),
    };
    let vars = std::collections::HashMap::from([
        ("LOCKBOX_DATABASE_URL".to_string(), url),
        (
            "LOCKBOX_DATA_DIR".to_string(),
            app.data_path().display().to_string(),
        ),
    ]);
    let config = lockbox::server::config::Env(move |n: &str| vars.get(n).cloned())
        .config()
        .unwrap();
    let database = db::Db::connect(&config).await.unwrap();
    let users: Vec<(String, String)> = lockbox::on_pool!(&database.read, |p| sqlx::query_as(
        "SELECT id, username FROM users"
    )
    .fetch_all(p)
    .await
    .unwrap());
    let mut out = Vec::new();
    for (id, username) in users {
        let row = db::users::by_id(&database, &id).await.unwrap().unwrap();
        let dek = kek.unwrap(&row.dek_wrapped, &id).expect("data key unwraps");
        for s in db::secrets::sealed_all(&database, &id).await.unwrap() {
            let plain = dek
                .open(&s.value_sealed, &crypto::secret_aad(&id, &s.id))
                .unwrap_or_else(|e| panic!("{username}/{} does not decrypt: {e}", s.name));
            out.push((
                username.clone(),
                s.name,
                String::from_utf8(plain.to_vec()).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

/// Runs a query returning one column on the app's database (SQLite or PostgreSQL).
pub async fn query_column<T>(app: &TestApp, sql: &str) -> Vec<T>
where
    T: Send + Unpin,
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    use sqlx::Connection;
    match &app.db.url {
        None => {
            let url = format!("sqlite://{}", app.data_path().join("lockbox.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
        Some(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
    }
}

/// Runs statements on the app's database behind the server's back (SQLite or PostgreSQL), as
/// someone with access to the database alone would.
pub async fn execute(app: &TestApp, statements: &[&str]) {
    use sqlx::Connection;
    match &app.db.url {
        None => {
            let url = format!("sqlite://{}", app.data_path().join("lockbox.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for sql in statements {
                sqlx::query(sql).execute(&mut c).await.unwrap();
            }
        }
        Some(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            for sql in statements {
                sqlx::query(sql).execute(&mut c).await.unwrap();
            }
        }
    }
}
