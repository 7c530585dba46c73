//! Locating ../shared (the public capture corpus and tshark's reference
//! tables). Tests that need it fail loudly when it is missing.

use std::path::PathBuf;

/// `$TCPSIM_SHARED` if set, else `$CARGO_MANIFEST_DIR/../shared`.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("TCPSIM_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        dir.join("captures/public").is_dir() && dir.join("captures/reference").is_dir(),
        "this test needs the capture corpus at {} (captures/public and captures/reference); \
         set TCPSIM_SHARED to its location",
        dir.display()
    );
    dir
}
