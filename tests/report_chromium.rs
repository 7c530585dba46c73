//! Opens `tcpsim report`'s HTML in headless Chromium (Debian's `chromium`,
//! installed by .ci/run), with no network, and checks that the page is not
//! blank and that every SVG rendered with a non-zero size.
//!
//! Fails (does not skip) when Chromium or the shared captures are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("TCPSIM_SHARED") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        dir.join("captures/public").is_dir(),
        "shared captures not found at {} (set TCPSIM_SHARED to the shared/ folder)",
        dir.display()
    );
    dir
}

fn chromium(args: &[&str], profile: &Path) -> std::process::Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)"
    );
    let profile_arg = format!("--user-data-dir={}", profile.display());
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        // No network: every host resolves nowhere.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        &profile_arg,
    ]);
    cmd.args(args);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
    assert!(
        out.status.success(),
        "chromium failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tcpsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn report_renders_in_headless_chromium() {
    let capture =
        shared_dir().join("captures/public/chrissanders-packets__tcp_retransmissions.pcapng");
    let dir = temp_dir("report-chromium");
    let html = dir.join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .arg("report")
        .arg(&capture)
        .arg("-o")
        .arg(&html)
        .status()
        .expect("run tcpsim report");
    assert!(status.success(), "tcpsim report failed");
    let page = std::fs::read_to_string(&html).unwrap();
    let svg_count = page.matches("<svg ").count();
    assert!(
        svg_count >= 3,
        "the report should hold at least one connection's three pictures, has {svg_count} SVGs"
    );
    assert!(
        !page.contains("<script"),
        "the report itself has no scripts"
    );

    // 1. Screenshot: not blank.
    let shot = dir.join("shot.png");
    let profile = dir.join("profile-shot");
    chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
            &format!("file://{}", html.display()),
        ],
        &profile,
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("screenshot written"),
    ));
    let mut reader = decoder.read_info().expect("screenshot is a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("decode screenshot");
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "unexpected PNG colour type {:?}",
        info.color_type
    );
    let pixels = &buf[..info.buffer_size()];
    let total = (info.width * info.height) as usize;
    let mut non_white = 0usize;
    let mut coloured = 0usize;
    for px in pixels.chunks_exact(channels) {
        let (r, g, b) = (px[0] as i32, px[1] as i32, px[2] as i32);
        if r < 240 || g < 240 || b < 240 {
            non_white += 1;
        }
        if (r - g).abs() > 40 || (g - b).abs() > 40 || (r - b).abs() > 40 {
            coloured += 1;
        }
    }
    assert!(
        non_white * 100 > total,
        "screenshot is (nearly) blank: {non_white} of {total} pixels not white"
    );
    assert!(
        coloured > 200,
        "no coloured pixels (arrows, lines) in the screenshot: {coloured}"
    );

    // 2. Every SVG's rendered size, written into the DOM by a small script
    //    added to a copy of the page (the report itself stays script-free).
    let probe = dir.join("probe.html");
    let script = "<script>for (const s of document.querySelectorAll('svg')) { const r = s.getBoundingClientRect(); \
                  s.setAttribute('data-rendered', r.width + 'x' + r.height); }</script></body>";
    std::fs::write(&probe, page.replace("</body>", script)).unwrap();
    let out = chromium(
        &["--dump-dom", &format!("file://{}", probe.display())],
        &dir.join("profile-dom"),
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let sizes: Vec<(f64, f64)> = dom
        .split("data-rendered=\"")
        .skip(1)
        .map(|rest| {
            let v = &rest[..rest.find('"').unwrap()];
            let (w, h) = v.split_once('x').unwrap();
            (w.parse().unwrap(), h.parse().unwrap())
        })
        .collect();
    assert_eq!(sizes.len(), svg_count, "every SVG reported its size");
    for (i, (w, h)) in sizes.iter().enumerate() {
        assert!(*w > 50.0 && *h > 50.0, "SVG {i} rendered at {w}x{h}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
