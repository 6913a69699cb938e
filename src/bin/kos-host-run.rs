//! `kos-host-run`: run a KasperskyOS solution's entities, as its
//! `init.yaml` describes them, as Linux processes.
//!
//! ```text
//! kos-host-run [--define NAME=VALUE]... [--bin-dir DIR]... [--trace DIR] [--stats DIR]
//!              [--timeout SECONDS] [--grace SECONDS] [--main ENTITY]... [--dry-run] INIT.yaml
//! kos-host-run generate man DIR | completions SHELL DIR   (make install)
//! ```
//!
//! Each entity gets, on top of the launcher's environment and its own
//! `env:`, the host emulator's contract: `KOS_HOST_WORLD` (the run's shared
//! memory world, `kos-host-<launcher pid>`, removed at the end),
//! `KOS_HOST_ENTITY` (its name) and `KOS_HOST_CONNECTIONS` (`id=target,...`,
//! its client connections). Output lines are prefixed `[entity] `. The
//! first entity to fail stops the others; the launcher exits with its
//! status (128 + signal for a signal). See docs/emulator.md "Running a
//! solution: kos-host-run".

// Man pages and completions: the same code as kos-ipc-trace's.
#[path = "kos-ipc-trace/generate.rs"]
mod generate;
// The crate root's modules sit beside it in kos-host-run/.
#[path = "kos-host-run/init.rs"]
mod init;
#[path = "kos-host-run/launch.rs"]
mod launch;
#[path = "kos-host-run/output.rs"]
mod output;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{CommandFactory, Parser};
use kos_ipc_shim::trace::merge::{merge_to_file, Input};

use init::{Entity, Lookup};
use launch::{Options, Outcome};

const EXAMPLES: &str = "Examples:
  kos-host-run --bin-dir build/solutions/echo examples/solutions/echo/init.yaml
  kos-host-run --trace out/ --stats out/ --timeout 30 init.yaml   # out/ENTITY.kst, out/merged.json
  kos-host-run -D BUILD=build --main Client --dry-run init.yaml.in

Exit status: that of the first entity to fail (128 + signal for a signal), 0
when all succeed; 124 after --timeout; 2 for a bad command line or init file.
Output lines are prefixed [entity]. More: docs/emulator.md (Running a
solution: kos-host-run).";

/// Run a KasperskyOS solution's entities (init.yaml) as Linux processes
/// connected by the host emulator.
#[derive(Parser)]
#[command(
    name = "kos-host-run",
    version,
    about = "Run a KasperskyOS solution's entities (init.yaml) as Linux processes, \
connected by the host emulator, each traced, counted and policed by kos-ipc-shim",
    after_help = EXAMPLES
)]
struct Cli {
    /// The init description (`init.yaml`, or a template `init.yaml.in`).
    init: PathBuf,
    /// Replace `@NAME@` in the file by VALUE (repeatable; an empty VALUE
    /// removes the placeholder).
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE", value_parser = init::parse_define)]
    defines: Vec<(String, String)>,
    /// Where executables named without a directory are looked for after
    /// the init file's directory (repeatable, in order).
    #[arg(long, value_name = "DIR")]
    bin_dir: Vec<PathBuf>,
    /// Trace every entity to DIR/ENTITY.kst (KOS_SHIM_TRACE, unless the
    /// entity's env sets it) and merge the traces into DIR/merged.json at the end.
    #[arg(long, value_name = "DIR")]
    trace: Option<PathBuf>,
    /// Statistics of every entity to DIR/ENTITY.json (KOS_SHIM_STATS=timing,
    /// unless the entity's env sets it).
    #[arg(long, value_name = "DIR")]
    stats: Option<PathBuf>,
    /// Stop everything and fail (status 124) after this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    timeout: Option<Duration>,
    /// Seconds between SIGTERM and SIGKILL when entities are stopped.
    #[arg(long, value_name = "SECONDS", value_parser = seconds, default_value = "3")]
    grace: Duration,
    /// When every entity named so exited 0, stop the others and succeed
    /// (for servers that never exit; repeatable).
    #[arg(long = "main", value_name = "ENTITY")]
    mains: Vec<String>,
    /// Print what would be started (executable, arguments, contract
    /// variables) and start nothing.
    #[arg(long)]
    dry_run: bool,
}

fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=1e9).contains(&v) {
        return Err(format!("{s:?}: seconds from 0 to 1e9"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// One line on stderr; a closed stderr is not an error worth dying for
/// (the entities must still be stopped and the world removed).
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "kos-host-run: {msg}");
}

/// Read, substitute and check the init description.
fn load(cli: &Cli) -> Result<Vec<Entity>, String> {
    let file = cli.init.display().to_string();
    let text = std::fs::read_to_string(&cli.init).map_err(|e| format!("{file}: {e}"))?;
    let text = init::substitute(&file, &text, &cli.defines)?;
    let base = cli
        .init
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let entities = init::parse(
        &file,
        &text,
        &Lookup {
            base,
            bin_dirs: &cli.bin_dir,
        },
    )?;
    for m in &cli.mains {
        if !entities.iter().any(|e| &e.name == m) {
            return Err(format!("--main {m}: no entity of that name in {file}"));
        }
    }
    Ok(entities)
}

/// The variables one entity gets on top of the launcher's environment, in
/// the order they are set (later wins): the shim outputs of `--trace` and
/// `--stats`, its own `env:`, then the emulator's contract.
fn env_for(cli: &Cli, world: &str, e: &Entity) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if let Some(dir) = &cli.trace {
        if !e.sets("KOS_SHIM_TRACE") {
            let path = dir.join(format!("{}.kst", e.name));
            env.push((
                "KOS_SHIM_TRACE".to_string(),
                format!("file:{}", path.display()),
            ));
        }
    }
    if let Some(dir) = &cli.stats {
        if !e.sets("KOS_SHIM_STATS") {
            let path = dir.join(format!("{}.json", e.name));
            env.push((
                "KOS_SHIM_STATS".to_string(),
                format!("timing,json:{}", path.display()),
            ));
        }
    }
    env.extend(e.env.iter().cloned());
    env.push(("KOS_HOST_WORLD".to_string(), world.to_string()));
    env.push(("KOS_HOST_ENTITY".to_string(), e.name.clone()));
    env.push(("KOS_HOST_CONNECTIONS".to_string(), e.connections_var()));
    env
}

/// The traces the entities wrote in this run: `DIR/<entity>.kst`, and
/// `DIR/<entity>.kst.<pid>` (written beside a live owner's), modified
/// since `since`; in entity order.
fn traces(dir: &Path, entities: &[Entity], since: SystemTime) -> Vec<Input> {
    let fresh = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since)
    };
    let listing: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for e in entities {
        let main = format!("{}.kst", e.name);
        let mut files: Vec<&String> = listing
            .iter()
            .filter(|f| {
                **f == main
                    || f.strip_prefix(&format!("{main}.")).is_some_and(|pid| {
                        !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
                    })
            })
            .collect();
        files.sort();
        for f in files {
            let p = dir.join(f);
            if fresh(&p) {
                out.push(Input {
                    path: p.display().to_string(),
                    name: e.name.clone(),
                });
            }
        }
    }
    out
}

/// Merge this run's traces into `DIR/merged.json` and say what was linked.
fn merge_traces(dir: &Path, entities: &[Entity], since: SystemTime) -> Result<(), String> {
    let inputs = traces(dir, entities, since);
    if inputs.is_empty() {
        say(&format!(
            "--trace {}: no entity wrote a trace (programs linked with kos-ipc-shim write <entity>.kst there)",
            dir.display()
        ));
        return Ok(());
    }
    let out = dir.join("merged.json");
    let report = merge_to_file(&inputs, None, &out)?;
    say(&format!("trace {}: {report}", out.display()));
    Ok(())
}

fn dry_run(cli: &Cli, world: &str, entities: &[Entity]) {
    for e in entities {
        let mut line = format!("{}: {}", e.name, e.exe.display());
        for a in &e.args {
            line.push_str(&format!(" {a:?}"));
        }
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{line}");
        for (k, v) in env_for(cli, world, e) {
            let _ = writeln!(o, "  {k}={v}");
        }
    }
}

fn main() -> ExitCode {
    // `generate man|completions ...`: not an option of a run (a first word
    // `generate` followed by anything else is still an init file's name).
    let mut args = std::env::args_os().skip(1);
    if let (Some(g), Some(w)) = (args.next(), args.next()) {
        if g == "generate" && (w == "man" || w == "completions") {
            return generate::main_alone(Cli::command(), std::env::args_os().skip(2));
        }
    }
    let cli = Cli::parse();
    let entities = match load(&cli) {
        Ok(e) => e,
        Err(msg) => {
            for line in msg.lines() {
                say(line);
            }
            return ExitCode::from(2);
        }
    };
    let world = format!("kos-host-{}", std::process::id());
    if cli.dry_run {
        dry_run(&cli, &world, &entities);
        return ExitCode::SUCCESS;
    }
    for (dir, what) in [(&cli.trace, "--trace"), (&cli.stats, "--stats")] {
        if let Some(d) = dir {
            if let Err(e) = std::fs::create_dir_all(d) {
                say(&format!("{what} {}: {e}", d.display()));
                return ExitCode::from(2);
            }
        }
    }
    if let Err(e) = launch::catch_signals() {
        say(&format!("cannot catch SIGINT/SIGTERM: {e}"));
        return ExitCode::from(2);
    }
    let opt = Options {
        grace: cli.grace,
        timeout: cli.timeout,
        mains: cli.mains.clone(),
    };
    // A second early: file times may be coarser than the clock.
    let since = SystemTime::now() - Duration::from_secs(1);
    let outcome = launch::run(&entities, |e| env_for(&cli, &world, e), &opt);
    if let Err(e) = launch::remove_world(&world) {
        say(&format!(
            "cannot remove the shared-memory world /{world}: {e}"
        ));
    }
    let mut code = outcome.code();
    if let Some(dir) = &cli.trace {
        if let Err(e) = merge_traces(dir, &entities, since) {
            say(&format!("merging the traces: {e}"));
            if outcome == Outcome::Done {
                code = 1;
            }
        }
    }
    ExitCode::from(code.clamp(0, 255) as u8)
}
