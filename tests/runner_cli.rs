//! `tcpsim run` as a user sees it: the CLI's report, and the one line it
//! prints when it may not capture.

use std::process::Command;

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .expect("Uid line");
    assert_eq!(
        euid, "0",
        "this test switches to an unprivileged user and must run as root (CI does)"
    );
}

/// A copy of the binary any user may execute (the build tree may not be).
fn world_executable_copy(tag: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("tcpsim-runner-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.join("tcpsim");
    std::fs::copy(env!("CARGO_BIN_EXE_tcpsim"), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    exe
}

fn as_nobody(exe: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(exe)
        .args(args)
        .output()
        .expect("setpriv (util-linux) must be installed for this test")
}

#[test]
fn without_cap_net_raw_one_line_says_so_and_no_capture_still_runs() {
    require_root();
    let exe = world_executable_copy("nocap");
    let out = as_nobody(&exe, &["run", "echo", "--port", "21201"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "capture without CAP_NET_RAW must fail"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("CAP_NET_RAW")
            && stderr.contains("--no-capture")
            && stderr.contains("setcap"),
        "{stderr}"
    );

    let out = as_nobody(&exe, &["run", "echo", "--port", "21202", "--no-capture"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "--no-capture runs the sockets: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("scenario echo on 127.0.0.1:21202"),
        "{stdout}"
    );
    // The kernel's view is still sampled.
    assert!(
        stdout.contains("ESTABLISHED") && stdout.contains("TIME_WAIT"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(exe.parent().unwrap());
}

#[test]
fn an_unusable_argument_is_one_line_and_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(["run", "concurrent", "--clients", "0", "--no-capture"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}
