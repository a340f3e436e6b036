//! The embedded default database: a private PostgreSQL cluster made with the system's server
//! binaries in the data folder, started on a free loopback port with a generated password,
//! stopped with the service and reused by the next start.
//!
//! Run as root, the cluster runs under an unprivileged system account (`postgres` when the
//! package created it, `nobody` otherwise), since PostgreSQL refuses to run as root.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const MISSING: &str = "PostgreSQL server binaries (initdb, pg_ctl) were not found: install the `postgresql` package (apt-get install postgresql), or set DATABASE_URL to use an existing database";

pub struct EmbeddedPostgres {
    pub cluster_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<(u32, u32)>,
    pub port: u16,
    password: String,
    /// Whether this process started the server (and so stops it).
    started_here: bool,
    /// Durability off (test clusters), kept for a restart.
    fast: bool,
}

/// Where the server binaries are: Debian keeps them in `/usr/lib/postgresql/<major>/bin`
/// (newest first), others put them on the PATH.
pub fn find_bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PASSERELLE_PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return Ok(dir);
        }
        return Err(format!(
            "PASSERELLE_PG_BIN_DIR={} has no initdb and pg_ctl",
            dir.display()
        ));
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((major, bin))
        })
        .collect();
    majors.sort();
    if let Some((_, bin)) = majors.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .ok_or_else(|| MISSING.to_string())
}

/// The unprivileged account the cluster runs under when we are root.
fn unprivileged_account() -> Result<Option<(u32, u32)>, String> {
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        let cname = std::ffi::CString::new(name).expect("static name");
        let pw = unsafe { libc::getpwnam(cname.as_ptr()) };
        if !pw.is_null() {
            let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
            if uid != 0 {
                return Ok(Some((uid, gid)));
            }
        }
    }
    Err("running as root, and no unprivileged `postgres` or `nobody` account exists to run PostgreSQL".into())
}

/// Whether the process runs: it exists (signal 0: we may signal it, as root or its owner)
/// and is not a zombie. A killed postmaster is nobody's child (pg_ctl started it and left),
/// and where no init reaps orphans it stays a zombie, which signal 0 still finds.
fn process_alive(pid: i32) -> bool {
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) state …`: the state follows the last parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => true,
    }
}

fn free_port() -> Result<u16, String> {
    let l =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn chown_recursive(path: &Path, uid: u32, gid: u32) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    if unsafe { libc::lchown(c.as_ptr(), uid, gid) } != 0 {
        return Err(format!(
            "cannot hand {} to the database account: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).map_err(|e| e.to_string())? {
            chown_recursive(&entry.map_err(|e| e.to_string())?.path(), uid, gid)?;
        }
    }
    Ok(())
}

impl EmbeddedPostgres {
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        // The cluster account may not be able to read our working directory.
        cmd.current_dir("/");
        cmd.env_remove("PGDATA")
            .env("LC_ALL", "C.UTF-8")
            .env("LANG", "C.UTF-8");
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn run(&self, mut cmd: Command, what: &str) -> Result<(), String> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{what}: cannot run: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let hint = if self.run_as.is_some() && stderr.contains("ermission denied") {
                " (running as root: the data folder and its parents must be reachable by the `postgres` or `nobody` account)"
            } else {
                ""
            };
            Err(format!(
                "{what} failed{hint}: {}{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            ))
        }
    }

    /// Creates the cluster on first use, then starts it (or finds it already running).
    /// `fast` turns durability off, for throw-away test clusters.
    pub fn start(
        cluster_dir: &Path,
        password_file: &Path,
        fast: bool,
    ) -> Result<EmbeddedPostgres, String> {
        Self::start_on(cluster_dir, password_file, fast, None)
    }

    /// As `start`, on a given port (a restarted server keeps its address).
    pub fn start_on(
        cluster_dir: &Path,
        password_file: &Path,
        fast: bool,
        port: Option<u16>,
    ) -> Result<EmbeddedPostgres, String> {
        let bin_dir = find_bin_dir()?;
        let run_as = unprivileged_account()?;
        std::fs::create_dir_all(cluster_dir)
            .map_err(|e| format!("cannot create {}: {e}", cluster_dir.display()))?;
        let cluster_dir = cluster_dir.canonicalize().map_err(|e| e.to_string())?;
        let password = match std::fs::read_to_string(password_file) {
            Ok(p) => p.trim().to_owned(),
            Err(_) => {
                let p = crate::auth::secrets::random_token(24);
                crate::auth::keys::write_private_file(password_file, p.as_bytes())?;
                p
            }
        };
        let mut pg = EmbeddedPostgres {
            cluster_dir,
            bin_dir,
            run_as,
            port: 0,
            password,
            started_here: false,
            fast,
        };
        {
            use std::os::unix::fs::PermissionsExt;
            let _ =
                std::fs::set_permissions(&pg.cluster_dir, std::fs::Permissions::from_mode(0o700));
        }
        if let Some((uid, gid)) = run_as {
            chown_recursive(&pg.cluster_dir, uid, gid)?;
        }
        if !pg.cluster_dir.join("PG_VERSION").exists() {
            pg.init()?;
        }
        if let Some(port) = pg.running_port() {
            log::info!("embedded PostgreSQL already running on 127.0.0.1:{port}");
            pg.port = port;
            return Ok(pg);
        }
        pg.port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        pg.launch()?;
        pg.started_here = true;
        log::info!(
            "embedded PostgreSQL started on 127.0.0.1:{} ({})",
            pg.port,
            pg.cluster_dir.display()
        );
        Ok(pg)
    }

    /// `pg_ctl start` on `self.port`, waiting until the server accepts connections (after
    /// its crash recovery, if it stopped without a shutdown).
    fn launch(&self) -> Result<(), String> {
        let pg = self;
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='' -c max_connections=200",
            pg.port
        );
        if pg.fast {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let mut cmd = pg.command("pg_ctl");
        cmd.arg("start")
            .arg("-D")
            .arg(&pg.cluster_dir)
            .arg("-w")
            .arg("-t")
            .arg("60")
            .arg("-s");
        cmd.arg("-l")
            .arg(pg.cluster_dir.join("server.log"))
            .arg("-o")
            .arg(options);
        pg.run(cmd, "starting PostgreSQL")
    }

    /// The process id of the server running this cluster (`postmaster.pid`, line 1), if
    /// that process is alive.
    pub fn postmaster_pid(&self) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.cluster_dir.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()?;
        (pid > 0 && process_alive(pid)).then_some(pid)
    }

    /// Watches the server this process started and starts it again, on the same port, when
    /// it is gone (killed, crashed, out of memory): PostgreSQL's crash recovery replays its
    /// WAL, so every acknowledged write is there, and the connection pools reconnect on
    /// their own. Checked every half second; the backends of a killed postmaster take a
    /// moment to notice and leave, so a refused start is tried again.
    pub fn supervise(self) -> Supervisor {
        let pg = std::sync::Arc::new(std::sync::Mutex::new(self));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("embedded-postgres".into())
            .spawn({
                let (pg, stop) = (pg.clone(), stop.clone());
                move || {
                    use std::sync::atomic::Ordering;
                    let mut down_since: Option<std::time::Instant> = None;
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(std::time::Duration::from_millis(500));
                        let guard = pg.lock().unwrap_or_else(|e| e.into_inner());
                        if stop.load(Ordering::Relaxed) || !guard.started_here {
                            continue;
                        }
                        if guard.postmaster_pid().is_some() {
                            if let Some(since) = down_since.take() {
                                log::info!(
                                    "embedded PostgreSQL is back on 127.0.0.1:{} after {:.1} s",
                                    guard.port,
                                    since.elapsed().as_secs_f64()
                                );
                            }
                            continue;
                        }
                        if down_since.is_none() {
                            log::error!(
                                "embedded PostgreSQL on 127.0.0.1:{} is gone (its process ended without a shutdown; its own log is {}): starting it again, with crash recovery",
                                guard.port,
                                guard.cluster_dir.join("server.log").display()
                            );
                            down_since = Some(std::time::Instant::now());
                        }
                        if let Err(e) = guard.launch() {
                            log::warn!("embedded PostgreSQL did not start yet: {e}");
                        }
                    }
                }
            })
            .expect("a thread for the supervisor");
        Supervisor {
            pg,
            stop,
            thread: Some(thread),
        }
    }

    fn init(&self) -> Result<(), String> {
        let pwfile = self.cluster_dir.with_extension("initpw");
        let _ = std::fs::remove_file(&pwfile);
        crate::auth::keys::write_private_file(&pwfile, self.password.as_bytes())?;
        if let Some((uid, gid)) = self.run_as {
            chown_recursive(&pwfile, uid, gid)?;
        }
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&self.cluster_dir).args([
            "-U",
            "passerelle",
            "-E",
            "UTF8",
            "--no-locale",
        ]);
        cmd.args(["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()));
        let result = self.run(cmd, "creating the PostgreSQL cluster (initdb)");
        let _ = std::fs::remove_file(&pwfile);
        result?;
        log::info!(
            "created the embedded PostgreSQL cluster in {}",
            self.cluster_dir.display()
        );
        Ok(())
    }

    /// The port of a server already running on this cluster (left by a killed service).
    fn running_port(&self) -> Option<u16> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("status").arg("-D").arg(&self.cluster_dir);
        let running = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?
            .success();
        if !running {
            return None;
        }
        // postmaster.pid: line 4 is the port.
        std::fs::read_to_string(self.cluster_dir.join("postmaster.pid"))
            .ok()?
            .lines()
            .nth(3)?
            .trim()
            .parse()
            .ok()
    }

    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://passerelle:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    pub fn stop(&mut self) {
        if !self.started_here {
            return;
        }
        self.started_here = false;
        if self.postmaster_pid().is_none() {
            log::warn!("embedded PostgreSQL had already stopped (its process is gone)");
            return;
        }
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args(["-m", "fast", "-w", "-s"]);
        match self.run(cmd, "stopping PostgreSQL") {
            Ok(()) => log::info!("embedded PostgreSQL stopped"),
            Err(e) => log::warn!("{e}"),
        }
    }

    /// Hands over the duty to stop the server (to whoever keeps the cluster alive).
    pub fn keep_running(&mut self) {
        self.started_here = false;
    }
}

/// The supervisor of an embedded server ([`EmbeddedPostgres::supervise`]); stopping it stops
/// the server.
pub struct Supervisor {
    pg: std::sync::Arc<std::sync::Mutex<EmbeddedPostgres>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Supervisor {
    /// The supervised server's port.
    pub fn port(&self) -> u16 {
        self.pg.lock().unwrap_or_else(|e| e.into_inner()).port
    }

    /// The supervised server's process id, while it runs.
    pub fn postmaster_pid(&self) -> Option<i32> {
        self.pg
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .postmaster_pid()
    }

    /// Stops watching, then stops the server.
    pub fn stop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.pg.lock().unwrap_or_else(|e| e.into_inner()).stop();
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Creates `database` on the server at `admin_url` unless it exists.
pub async fn ensure_database(admin_url: &str, database: &str) -> Result<(), String> {
    use diesel::sql_types::Text;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        #[allow(dead_code)]
        one: i32,
    }
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let found: Vec<Found> =
        diesel::sql_query("SELECT 1 AS one FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(database)
            .load(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
    if found.is_empty() {
        diesel::sql_query(format!("CREATE DATABASE \"{}\"", database.replace('"', "")))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot create database {database}: {e}"))?;
    }
    Ok(())
}
