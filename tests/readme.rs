//! The README works as written: every shell block of `README.md` runs, in order, from the crate
//! root, against a fresh data directory and a free port, and any command that fails fails the
//! test.
//!
//! A block's fence says how it runs:
//! - ```` ```sh ```` (or `bash`, `shell`): run under `set -euo pipefail`, all of them in one bash
//!   process, so variables carry over from block to block as in the reader's terminal;
//! - ```` ```sh serve ````: the service, which runs until stopped. Started in the background
//!   exactly as written, before the blocks after it, and awaited on `/healthz`; at the end it is
//!   sent SIGTERM and must stop cleanly. The README has exactly one, before every block that runs;
//! - ```` ```sh no-run ````: never run. Only for what cannot run here: `cargo test` itself (it
//!   would run this test again) and the PostgreSQL example (a database server and a second
//!   service); the README says beside each block what it needs.
//!
//! Any other word after the language fails the test, so a typo cannot skip a block silently, and a
//! ```` ```console ```` block is refused: commands are written as ```` ```sh ````, runnable by
//! copying.
//!
//! The blocks reach the fresh directory and the port through the variables the README documents
//! (`SIDIAN_DATA`, `SIDIAN_LISTEN`; the other `SIDIAN_*` variables and those cargo sets for a test
//! are removed, as a reader's terminal has none), `mktemp` makes its files in the test's
//! directory (`TMPDIR`), and `cargo run [-q] [--release] -- ARGS` runs the `sidian` that `cargo
//! test` built for this test with ARGS (a shell function stands in for it; other cargo commands go
//! to cargo): the same source, without a second build of the dependencies, which `cargo run` would
//! make with other features than `cargo test` (the dev-dependencies enable some). They
//! need bash, curl, OpenSSL and python3: when one is missing the test says so and passes, except
//! under CI (`CI=true`), where it fails.

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The programs the blocks call besides cargo.
const TOOLS: &[&str] = &["bash", "curl", "openssl", "python3"];

/// How long the service may take to answer `/healthz` (its first start generates the keys).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What `cargo` means in the blocks: `cargo run … -- ARGS` runs the binary built for this test
/// (in the serve block as the shell itself, so that SIGTERM reaches the service alone).
fn cargo_stand_in() -> String {
    format!(
        r#"cargo() {{
  if [ "${{1:-}}" = run ]; then
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
    [ $# -gt 0 ] && shift
    if [ -n "${{readme_serve:-}}" ]; then exec '{0}' "$@"; fi
    '{0}' "$@"
  else
    command cargo "$@"
  fi
}}
"#,
        env!("CARGO_BIN_EXE_sidian")
    )
}

/// How long the service may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How a block is run, from the words after the language in its fence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Run,
    Serve,
    NoRun,
}

/// One fenced shell block of the README.
#[derive(Debug)]
struct Block {
    /// The 1-based line of its opening fence.
    line: usize,
    mode: Mode,
    text: String,
}

/// The mode of a block opened by a fence with `info` after the backticks; `None` for a block in
/// another language.
fn mode_of(line: usize, info: &str) -> Option<Mode> {
    let mut words = info.split_whitespace();
    match words.next() {
        Some("sh" | "bash" | "shell") => {}
        Some("console") => panic!("README.md:{line}: write commands as ```sh, not ```console"),
        _ => return None,
    }
    match words.collect::<Vec<_>>().as_slice() {
        [] => Some(Mode::Run),
        ["serve"] => Some(Mode::Serve),
        ["no-run"] => Some(Mode::NoRun),
        other => panic!("README.md:{line}: unknown block marker {other:?} (known: serve, no-run)"),
    }
}

/// The shell blocks of a Markdown text, in order.
fn shell_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    // The open fence: its line, its mode (None: not a shell block) and the text so far.
    let mut open: Option<(usize, Option<Mode>, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let fence = line.trim().strip_prefix("```");
        match (open.take(), fence) {
            (None, Some(info)) => open = Some((index + 1, mode_of(index + 1, info), String::new())),
            (None, None) => {}
            (Some((start, mode, text)), Some("")) => {
                if let Some(mode) = mode {
                    blocks.push(Block {
                        line: start,
                        mode,
                        text,
                    });
                }
            }
            (Some((start, mode, mut text)), _) => {
                text.push_str(line);
                text.push('\n');
                open = Some((start, mode, text));
            }
        }
    }
    assert!(open.is_none(), "README.md: a code fence is never closed");
    blocks
}

/// Whether `program` is a file in a directory of the PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Variables a reader's terminal does not have: sidian's own (a leftover `SIDIAN_DATABASE_URL`
/// would send the blocks elsewhere; the test sets the two it means), and those cargo sets for a
/// test. A build script that watches one (ring's watches `CARGO_MANIFEST_DIR`) would make
/// `cargo run` in a block rebuild the dependency tree.
fn not_in_a_readers_terminal(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "SIDIAN_",
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "CARGO_CRATE_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    name == "CARGO" || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Where the blocks run: the crate root, a fresh data directory, a free port.
struct Setting {
    root: PathBuf,
    data: PathBuf,
    tmp: PathBuf,
    listen: String,
}

impl Setting {
    fn new(dir: &Path) -> Self {
        let tmp = dir.join("tmp");
        fs::create_dir(&tmp).expect("create TMPDIR");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self {
            root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            data: dir.join("data"),
            tmp,
            listen: format!("127.0.0.1:{port}"),
        }
    }

    /// `bash -c SCRIPT` in the crate root with the README's environment.
    fn bash(&self, script: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(cargo_stand_in() + script)
            .current_dir(&self.root);
        for (name, _) in std::env::vars_os() {
            if not_in_a_readers_terminal(&name.to_string_lossy()) {
                cmd.env_remove(name);
            }
        }
        cmd.env("SIDIAN_DATA", &self.data)
            .env("SIDIAN_LISTEN", &self.listen)
            .env("TMPDIR", &self.tmp);
        // The cargo that runs this test (and its toolchain) comes first, for any other cargo
        // command a block runs.
        if let (Some(cargo), Some(path)) = (std::env::var_os("CARGO"), std::env::var_os("PATH")) {
            let dirs = Path::new(&cargo).parent().map(Path::to_path_buf);
            let joined = std::env::join_paths(dirs.into_iter().chain(std::env::split_paths(&path)))
                .expect("PATH");
            cmd.env("PATH", joined);
        }
        cmd
    }
}

/// The `serve` block running in the background, in its own process group.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(setting: &Setting, block: &Block) -> Self {
        let log = setting.tmp.join("serve.log");
        let out = File::create(&log).expect("serve log");
        let child = setting
            .bash(&format!("readme_serve=1\n{}", block.text))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("serve log"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start the serve block");
        let mut server = Self { child, log };
        server.await_health(&format!("http://{}/healthz", setting.listen), block.line);
        server
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn await_health(&mut self, url: &str, line: usize) {
        let started = Instant::now();
        loop {
            let healthy = Command::new("curl")
                .args(["-fs", "-o", "/dev/null", url])
                .status()
                .is_ok_and(|s| s.success());
            if healthy {
                return;
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "README.md:{line}: the service exited ({status}) before answering {url}:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "README.md:{line}: no answer from {url} in {START_TIMEOUT:?}:\n{}",
                self.log()
            );
            sleep(Duration::from_millis(500));
        }
    }

    /// Sends `signal` to the whole group: `cargo run` may still be the parent of the service.
    fn signal(&self, signal: &str) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", signal, "--", &group])
            .stderr(Stdio::null())
            .status();
    }

    /// SIGTERM, then the exit status once it has stopped.
    fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        let asked = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                asked.elapsed() < STOP_TIMEOUT,
                "the service did not stop within {STOP_TIMEOUT:?} of SIGTERM:\n{}",
                self.log()
            );
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal("KILL");
            let _ = self.child.wait();
        }
    }
}

/// The blocks that run, as one script: stop at the first failure, say which block ran.
fn script(blocks: &[Block]) -> String {
    let mut script = String::from("set -euo pipefail\nexec 2>&1\n");
    for block in blocks.iter().filter(|b| b.mode == Mode::Run) {
        script.push_str(&format!("printf '\\n--- README.md:{}\\n'\n", block.line));
        script.push_str(&block.text);
    }
    script
}

#[test]
fn markers_decide_how_a_block_runs() {
    let md = "```sh serve\nA\n```\ntext\n```sh\nB\n```\n```toml\nC\n```\n```sh no-run\nD\n```\n";
    let blocks = shell_blocks(md);
    let got: Vec<(usize, Mode, &str)> = blocks
        .iter()
        .map(|b| (b.line, b.mode, b.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (1, Mode::Serve, "A\n"),
            (5, Mode::Run, "B\n"),
            (11, Mode::NoRun, "D\n")
        ]
    );
    let typo = std::panic::catch_unwind(|| shell_blocks("```sh norun\nX\n```\n"));
    assert!(typo.is_err(), "an unknown marker is refused");
}

#[test]
fn every_shell_block_of_the_readme_runs() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let blocks = shell_blocks(&fs::read_to_string(readme).expect("README.md"));
    let serve: Vec<&Block> = blocks.iter().filter(|b| b.mode == Mode::Serve).collect();
    let [serve] = serve.as_slice() else {
        panic!("README.md shows the service started once (```sh serve), not {serve:?}");
    };
    let early = blocks
        .iter()
        .find(|b| b.mode == Mode::Run && b.line < serve.line);
    assert!(
        early.is_none(),
        "README.md: {early:?} runs before the service is started"
    );
    if let Some(missing) = TOOLS.iter().find(|t| !on_path(t)) {
        let why = format!("the README's blocks need `{missing}`, which is not on the PATH");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{why} (required under CI)"
        );
        eprintln!("skipped: {why}");
        return;
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let setting = Setting::new(dir.path());
    let mut server = Server::start(&setting, serve);
    let out = setting
        .bash(&script(&blocks))
        .stdin(Stdio::null())
        .output()
        .expect("run the README's blocks");
    let output = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "a README block failed ({}); the last `--- README.md:N` line names it:\n{output}\n\
         --- the service's log:\n{}",
        out.status,
        server.log()
    );
    let stopped = server.stop();
    assert!(
        stopped.success(),
        "the service did not stop cleanly on SIGTERM ({stopped}):\n{}",
        server.log()
    );
}
