//! The process as a container: the `serve` Landlock profile refuses files, ports and
//! destinations outside it (probed in a child process, since Landlock cannot be undone); the
//! daemon is not dumpable, has a core limit of 0 and refuses a debugger (OpenSSH's
//! `agent-ptrace` test, run as the same unprivileged user); without enough lockable memory a
//! production config refuses to start, naming the setting.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use takedown::config::{Config, Enforcement};
use takedown::egress::client::EgressFiles;
use takedown::sandbox::{LandlockOutcome, Profile};

use crate::harness::{self, BINARY, Daemon, NOBODY};

/// A policy naming one extra port: the only non-443 port the serve profile may connect to.
fn policy_with_port(port: u16) -> String {
    format!(
        "[[service]]\nname = \"lumen\"\nhosts = [\"lumen.test\"]\nports = [{port}]\npaths = [\"/notices\"]\n\
         methods = [\"POST\"]\nmax_response_bytes = 1024\ntimeout_seconds = 5\nallow_non_global_addresses = true\n"
    )
}

/// A port that was free when asked for (see the probe for why its being taken since is tolerated).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_serve_profile_refuses_other_files_ports_and_destinations() {
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let (allowed_port, other_port) =
        (allowed.local_addr().unwrap().port(), other.local_addr().unwrap().port());
    // Control: outside the sandbox both destinations accept connections.
    TcpStream::connect(("127.0.0.1", other_port)).unwrap();
    let listen_port = free_port();
    let (dir, _pki) = Daemon::prepare(|config| {
        config.replace("127.0.0.1:0", &format!("127.0.0.1:{listen_port}"))
            + "policy = \"egress-policy.toml\"\n"
    });
    std::fs::write(dir.0.join("egress-policy.toml"), policy_with_port(allowed_port)).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sandbox::serve_profile_probe", "--ignored", "--nocapture", "--test-threads=1"])
        .env("TAKEDOWN_PROBE_DIR", &dir.0)
        .env("TAKEDOWN_PROBE_PORTS", format!("{allowed_port} {other_port}"))
        .output()
        .unwrap();
    let printed =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("probe: every check held"), "the probe did not run: {printed}");
}

fn assert_refused<T: std::fmt::Debug>(what: &str, result: std::io::Result<T>) {
    match result {
        Err(err) if err.kind() == ErrorKind::PermissionDenied => {}
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

#[test]
#[ignore = "run by the_serve_profile_refuses_other_files_ports_and_destinations as a child process"]
fn serve_profile_probe() {
    let Some(dir) = std::env::var_os("TAKEDOWN_PROBE_DIR").map(PathBuf::from) else { return };
    let ports = std::env::var("TAKEDOWN_PROBE_PORTS").unwrap();
    let (allowed_port, other_port) = ports.split_once(' ').unwrap();
    let (allowed_port, other_port): (u16, u16) = (allowed_port.parse().unwrap(), other_port.parse().unwrap());
    let config = Config::load(&dir.join("takedown.toml")).unwrap();
    let policy = EgressFiles::load(&config.egress).unwrap().policy;
    let outcome = Profile::serve(&config, None, &policy.ports()).apply(Enforcement::Required).unwrap();
    assert_eq!(outcome, LandlockOutcome::Full);

    // Files: the config's files are readable, the data directory writable; nothing else.
    std::fs::read(dir.join("roster.toml")).unwrap();
    std::fs::write(config.store.data_dir.join("probe"), b"written").unwrap();
    assert_refused("reading /etc/passwd", std::fs::read("/etc/passwd"));
    assert_refused("listing /", std::fs::read_dir("/"));
    assert_refused("writing beside the config", std::fs::write(dir.join("planted"), b"x"));
    let probe = std::env::temp_dir().join(format!("takedown-probe-{}", std::process::id()));
    assert_refused("writing /tmp", std::fs::write(probe, b"x"));
    // Ports: listening only on server.listen's. Landlock decides before the kernel looks for a
    // conflicting socket, so "in use" also means the sandbox let the bind through: the port was
    // free when picked, but another test may have taken it since.
    match TcpListener::bind(config.server.listen) {
        Ok(_) => {}
        Err(err) if err.kind() == ErrorKind::AddrInUse => {}
        Err(err) => panic!("binding server.listen's port: {err}"),
    }
    assert_refused("binding another port", TcpListener::bind("127.0.0.1:0"));
    assert_refused("binding another port", TcpListener::bind(("127.0.0.1", free_port_after_sandbox())));
    // Destinations: the policy's port, not another one (the parent listens on both).
    TcpStream::connect(("127.0.0.1", allowed_port)).unwrap();
    assert_refused(
        "connecting to a port the policy does not name",
        TcpStream::connect(("127.0.0.1", other_port)),
    );
    println!("probe: every check held");
}

/// A port number no rule names (binding it would succeed without the sandbox).
fn free_port_after_sandbox() -> u16 {
    40_000 + (std::process::id() % 20_000) as u16
}

#[test]
fn the_daemon_is_not_dumpable_has_no_core_limit_and_refuses_a_debugger() {
    // As an unprivileged user, like production's dynamic user; that user may not lock this
    // much memory, which the config allows here (the home page then says so).
    let daemon =
        Daemon::start_as(NOBODY, |config| format!("{config}\n[hardening]\nlock_memory = \"best-effort\"\n"));
    let pid = daemon.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.lines().any(|l| l.starts_with("Uid:") && l.contains(&NOBODY.to_string())), "{status}");
    // A non-dumpable process's /proc files belong to root, not to the user it runs as.
    assert_eq!(std::fs::metadata(format!("/proc/{pid}/status")).unwrap().uid(), 0);
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    assert_eq!(core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(), ["0", "0"], "{core}");

    let attach = |target: u32| {
        let output = Command::new("gdb")
            .args(["-nx", "-batch", "-ex", "detach", "-p", &target.to_string()])
            .uid(NOBODY)
            .gid(NOBODY)
            .env("HOME", "/nonexistent")
            .output()
            .expect("gdb is installed (apt install gdb)");
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    };
    // Control: the same user attaches to an ordinary process of its own.
    let mut ordinary = Command::new("sleep").arg("30").uid(NOBODY).gid(NOBODY).spawn().unwrap();
    let control = attach(ordinary.id());
    ordinary.kill().unwrap();
    let _ = ordinary.wait();
    assert!(!control.contains("Operation not permitted"), "the control attach failed: {control}");
    assert!(control.contains("detached"), "{control}");
    let refused = attach(pid);
    assert!(refused.contains("ptrace: Operation not permitted"), "gdb attached to the daemon: {refused}");

    // The best-effort memory lock is shown, not hidden.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let home = runtime.block_on(async {
        daemon.client("dmca-agent").get(daemon.url("/")).send().await.unwrap().text().await.unwrap()
    });
    assert!(home.contains("Not fully protected") && home.contains("memory is not locked"), "{home}");
}

#[test]
fn a_production_config_without_enough_lockable_memory_does_not_start() {
    let (dir, _pki) = Daemon::prepare(|config| config);
    harness::give_to(&dir.0, NOBODY);
    // 8 MiB of lockable memory (a common default) cannot hold the 256 MiB media budget.
    let output = Command::new("prlimit")
        .args(["--memlock=8388608:8388608", "--", BINARY, "serve", "--config"])
        .arg(dir.0.join("takedown.toml"))
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("hardening.lock_memory") && stderr.contains("LimitMEMLOCK"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("ready"), "it started anyway");
}
