//! `kos-ipc-trace`: read `.kst` traces written by kos-ipc-shim.
//!
//! ```text
//! kos-ipc-trace summary FILE.kst
//! kos-ipc-trace export --format text|json|ctf FILE.kst OUT
//! kos-ipc-trace policy-from FILE.kst [-o POLICY]
//! kos-ipc-trace merge OUT.json A.kst B.kst... [--name FILE=NAME]...
//! kos-ipc-trace names ENTITY.edl... [-I DIR]... [-o NAMES]
//! kos-ipc-trace check POLICY [--edl ENTITY]... [-I DIR]... [-q]
//! kos-ipc-trace --names NAMES ...      (name map instead of the trace's own)
//! kos-ipc-trace generate man DIR | completions SHELL DIR   (hidden; make install)
//! ```
//!
//! Errors (foreign, truncated or corrupted files, I/O) are one line on
//! stderr and exit code 1; usage errors exit 2; the tool never panics on
//! bad input. `check` exits 1 when the policy has errors, 2 when it could
//! not be checked.

#[path = "kos-ipc-trace/check.rs"]
mod check;
#[path = "kos-ipc-trace/generate.rs"]
mod generate;
#[path = "kos-ipc-trace/read.rs"]
mod read;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use kos_ipc_shim::names::NameMap;
use kos_ipc_shim::op::Op;
use kos_ipc_shim::policy::learn::Learner;
use kos_ipc_shim::trace::bytes::Io;
use kos_ipc_shim::trace::ctf::CtfWriter;
use kos_ipc_shim::trace::json::JsonWriter;
use kos_ipc_shim::trace::merge::{merge_to_file, Input};
use kos_ipc_shim::trace::record::KOS_SHIM_TRACE_KIND_CALL;
use kos_ipc_shim::trace::summary::Summary;
use kos_ipc_shim::trace::text;
use kos_ipc_shim::trace::threads::ThreadNames;

use read::{create, each, each_item, header_of, io_err, names_for, Item};

const ABOUT: &str = "Read what kos-ipc-shim records about a program's IPC: summarise, \
convert and merge its traces (.kst), learn and check policies, build name maps";

const LONG_ABOUT: &str = "\
Read what kos-ipc-shim records about a program's IPC (Call, CallEx, Recv, RecvEx, Reply).

A program linked with kos-ipc-shim writes a trace when run with \
KOS_SHIM_TRACE=file:app.kst. kos-ipc-trace turns such traces into a per-method \
table (summary), text lines, a Perfetto/Chrome timeline or CTF (export), one \
timeline of several processes (merge), and the policy that allows exactly what \
the trace did (policy-from). It checks a policy file without running anything \
(check), and writes the name map that turns ids into interface and method names \
(names).";

const EXAMPLES: &str = "\
Examples:
  kos-ipc-trace summary app.kst                      calls per method, by total time
  kos-ipc-trace export --format text app.kst -       one line per call, to stdout
  kos-ipc-trace export --format json app.kst app.json   open in ui.perfetto.dev
  kos-ipc-trace merge all.json client.kst server.kst one timeline, calls linked
  kos-ipc-trace policy-from app.kst -o app.policy    allow what the run did
  kos-ipc-trace check --edl echo.Server -I idl app.policy   every error, line:col
  kos-ipc-trace names echo/Server.edl -I idl -o echo.names

Exit status: 0 success; 1 error (unreadable or damaged input, a policy with \
errors); 2 usage error.
Run `kos-ipc-trace COMMAND --help` for a command's options and examples.";

/// Read kos-ipc-shim `.kst` traces: summarise, convert, merge, learn a policy.
#[derive(Parser)]
#[command(
    name = "kos-ipc-trace",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES
)]
struct Cli {
    /// Name map (`iid <n> <Name>`, `mid <iid>.<mid> <Name>` lines) to use
    /// instead of the one stored in the trace; for check, the names the
    /// policy may use (as `KOS_SHIM_NAMES`).
    #[arg(long, global = true, value_name = "FILE")]
    names: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Per-method table, sorted by total time, like strace -c.
    ///
    /// Calls, errors, denied, min/avg/max and total duration, % of the
    /// time, bytes; a total row; then the client threads requests were
    /// received from, and lost counts.
    #[command(after_help = "Examples:\n  \
        kos-ipc-trace summary app.kst\n  \
        kos-ipc-trace --names echo.names summary app.kst   ids named by another map")]
    Summary {
        /// The trace.
        file: String,
    },
    /// Convert a trace: text lines, Chrome/Perfetto JSON, or a CTF 1.8 directory.
    #[command(after_help = "Examples:\n  \
        kos-ipc-trace export --format text app.kst - | less\n  \
        kos-ipc-trace export --format json app.kst app.json   (ui.perfetto.dev)\n  \
        kos-ipc-trace export --format ctf app.kst app-ctf/    (babeltrace2 app-ctf/)")]
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: Format,
        /// The trace.
        file: String,
        /// Output file (text, json; `-` for stdout) or directory (ctf).
        out: PathBuf,
    },
    /// Write the name map of entities from their descriptions.
    ///
    /// The descriptions are EDL, CDL, IDL or nk-driver JSON; RIIDs are
    /// named `Entity.endpoint` by the first entity, methods by their
    /// interfaces, with the signatures that decode payloads. Use it as
    /// `KOS_SHIM_NAMES` or `--names`.
    #[command(after_help = "Examples:\n  \
        kos-ipc-trace names echo/Server.edl -o echo.names\n  \
        kos-ipc-trace names echo.Server echo.Client -I idl -I sdk/sysroot/include")]
    Names {
        /// EDL files, or qualified entity names (`echo.Server`) found under
        /// the include directories; the first one numbers the RIIDs.
        #[arg(required = true)]
        entities: Vec<String>,
        /// Directory searched for `a/b/C.idl` (`.cdl`, `.edl`) when a
        /// description imports or uses `a.b.C`; in order, repeatable.
        #[arg(short = 'I', value_name = "DIR")]
        include: Vec<PathBuf>,
        /// Write the map here instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// One Chrome/Perfetto JSON timeline of several processes' traces.
    ///
    /// Times aligned on the wall clock, arrows from each client Call to the
    /// server's Recv and from its Reply back (by correlation id, else by the
    /// client task and thread the server received); prints how many linked.
    #[command(after_help = "Examples:\n  \
        kos-ipc-trace merge all.json client.kst server.kst\n  \
        kos-ipc-trace merge all.json c-1234.kst s-1235.kst --name c-1234.kst=client")]
    Merge {
        /// The JSON file to write.
        out: PathBuf,
        /// The traces, one per process.
        #[arg(required = true)]
        files: Vec<String>,
        /// Name a file's process (default: the file name without `.kst`);
        /// FILE is the path as given or its file name. Repeatable.
        #[arg(long = "name", value_name = "FILE=NAME")]
        rename: Vec<String>,
    },
    /// Print the policy that allows exactly the messages in the trace.
    ///
    /// Endpoints and methods are named where the names have them (the
    /// trace's, or --names).
    #[command(after_help = "Examples:\n  \
        kos-ipc-trace policy-from app.kst -o app.policy\n  \
        kos-ipc-trace check app.policy                     then check it")]
    PolicyFrom {
        /// The trace.
        file: String,
        /// Write the policy here instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Check a policy file: every error with line:col, the rules understood.
    ///
    /// Parses the policy as a program would load it, without running one;
    /// reports every error as FILE:LINE:COL (not only the first) and prints
    /// the rules understood. Names in the policy (`Echo.Ping`, `iid=Server.main`) resolve against
    /// `--names`, `--edl` and `-I`, as the library's `KOS_SHIM_NAMES`,
    /// `KOS_SHIM_EDL` and `KOS_SHIM_IDL_PATH`; without `--names` and
    /// `--edl`, those variables are read. Exit status: 0 clean, 1 errors,
    /// 2 the check could not run.
    #[command(after_help = "Examples:\n  \
        kos-ipc-trace check app.policy\n  \
        kos-ipc-trace check --names echo.names app.policy\n  \
        kos-ipc-trace check --edl echo/Server.edl -I idl app.policy\n  \
        KOS_SHIM_EDL=echo.Server KOS_SHIM_IDL_PATH=idl kos-ipc-trace check app.policy")]
    Check {
        /// The policy file.
        policy: PathBuf,
        /// An entity whose descriptions name the policy's endpoints and
        /// methods: an EDL file or a qualified name found under `-I`
        /// (as `KOS_SHIM_EDL`); repeatable.
        #[arg(long, value_name = "ENTITY")]
        edl: Vec<String>,
        /// Directory searched for the descriptions `--edl` imports or
        /// names (as `KOS_SHIM_IDL_PATH`); in order, repeatable.
        #[arg(short = 'I', value_name = "DIR")]
        include: Vec<PathBuf>,
        /// Print only the errors, not the rules understood.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write man pages or shell completions (for `make install`).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: generate::What,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One line per call, as on stderr.
    Text,
    /// Chrome Trace Event JSON (ui.perfetto.dev, chrome://tracing).
    Json,
    /// CTF 1.8 directory (babeltrace2).
    Ctf,
}

fn summary(cli: &Cli, file: &str) -> Result<(), String> {
    let mut s = Summary::default();
    let header = each(file, "summary", |_, e| {
        s.add(&e.rec);
        Ok(())
    })?;
    let names = names_for(&cli.names, &header)?;
    let mut out = io::stdout().lock();
    let _ = write!(out, "{}", s.render(&names));
    Ok(())
}

fn export(cli: &Cli, format: Format, file: &str, out: &Path) -> Result<(), String> {
    // The header (and names) first, so writers can be set up before streaming.
    let header = header_of(file)?;
    let names = names_for(&cli.names, &header)?;
    let label = format!("export {file}");
    match format {
        Format::Text => {
            // Sorted by start time across threads: the file holds them in
            // drain order. Threads show the last name the file gives them.
            let mut entries = Vec::new();
            let mut threads = ThreadNames::default();
            each_item(file, &label, |_, item| {
                match item {
                    Item::Thread(tid, name) => {
                        threads.set(tid, name);
                    }
                    Item::Entry(e) => entries.push(e.clone()),
                }
                Ok(())
            })?;
            entries.sort_by_key(|e| e.rec.start);
            let mut w = create(out)?;
            for e in &entries {
                let line = text::line(&e.rec, &e.payload, &names, &threads, header.start_ns);
                writeln!(w, "{line}").map_err(io_err(out))?;
            }
            w.flush().map_err(io_err(out))?;
        }
        Format::Json => {
            let mut w = JsonWriter::new(Io(create(out)?), header.pid, 0, names.clone())
                .map_err(io_err(out))?;
            each_item(file, &label, |_, item| match item {
                Item::Thread(tid, name) => w.thread_name(tid, name).map_err(io_err(out)),
                Item::Entry(e) => w.write(&e.rec, &e.payload).map_err(io_err(out)),
            })?;
            w.finish().map_err(io_err(out))?;
        }
        Format::Ctf if out == Path::new("-") => {
            return Err("ctf writes a directory of files: give its path, not -".into());
        }
        Format::Ctf => {
            let dir = out
                .to_str()
                .ok_or_else(|| format!("{}: not a UTF-8 path", out.display()))?;
            // The writer's errors name the file.
            let mut w = CtfWriter::create(
                dir,
                header.pid,
                header.start_ns,
                header.wall_ns,
                names.clone(),
            )
            .map_err(|e| e.to_string())?;
            each_item(file, &label, |_, item| match item {
                Item::Thread(tid, name) => {
                    w.thread_name(tid, name);
                    Ok(())
                }
                Item::Entry(e) => w.write(&e.rec, &e.payload).map_err(|e| e.to_string()),
            })?;
            w.finish().map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn policy_from(cli: &Cli, file: &str, output: &Option<PathBuf>) -> Result<(), String> {
    let learner = Learner::new();
    let header = each(file, "policy-from", |_, e| {
        let r = &e.rec;
        if r.kind != KOS_SHIM_TRACE_KIND_CALL {
            return Ok(());
        }
        // What the in-process learner sees: every validated send (a valid
        // constant part is never empty), and receives that succeeded.
        let Some(op) = Op::from_u8(r.op) else {
            return Ok(());
        };
        let seen = if op.sends() {
            r.const_out > 0
        } else {
            r.rc == 0
        };
        if seen {
            learner.observe_op(op, r.iid, r.mid);
        }
        Ok(())
    })?;
    // Rules name endpoints and methods where the trace's names (or --names)
    // do, so the policy reads like the descriptions.
    let names = names_for(&cli.names, &header)?;
    match output {
        Some(p) => learner.write(p, &names).map_err(io_err(p)),
        None => {
            let _ = write!(io::stdout().lock(), "{}", learner.render(&names));
            Ok(())
        }
    }
}

fn merge(cli: &Cli, out: &Path, files: &[String], rename: &[String]) -> Result<(), String> {
    let mut inputs: Vec<Input> = files.iter().map(|f| Input::new(f)).collect();
    for r in rename {
        let (file, name) = r
            .split_once('=')
            .ok_or_else(|| format!("--name {r:?}: expected FILE=NAME"))?;
        let hit = inputs.iter_mut().filter(|i| {
            i.path == file || Path::new(&i.path).file_name() == Some(std::ffi::OsStr::new(file))
        });
        let mut n = 0;
        for i in hit {
            i.name = name.to_string();
            n += 1;
        }
        if n == 0 {
            return Err(format!("--name {r:?}: {file} is none of the traces"));
        }
    }
    let names = match &cli.names {
        Some(p) => {
            Some(NameMap::load(p.to_str().ok_or_else(|| {
                format!("{}: not a UTF-8 path", p.display())
            })?)?)
        }
        None => None,
    };
    let report = merge_to_file(&inputs, names.as_ref(), out)?;
    println!("{}: {report}", out.display());
    Ok(())
}

fn names(entities: &[String], include: &[PathBuf], output: &Option<PathBuf>) -> Result<(), String> {
    let dirs = include
        .iter()
        .map(|d| {
            d.to_str()
                .map(String::from)
                .ok_or_else(|| format!("{}: not a UTF-8 path", d.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let schema = kos_ipc_shim::names::describe(entities.iter().map(String::as_str), dirs)?;
    let mut text = format!(
        "# kos-ipc-shim name map of {} (kos-ipc-trace names)\n",
        entities.join(" ")
    );
    text.push_str(&NameMap::from_schema(schema).to_text());
    match output {
        Some(p) => std::fs::write(p, text).map_err(io_err(p)),
        None => {
            let _ = io::stdout().lock().write_all(text.as_bytes());
            Ok(())
        }
    }
}

/// `check`: 0 clean, 1 errors, 2 when the check could not run.
fn check_cmd(
    cli: &Cli,
    policy: &Path,
    edl: &[String],
    include: &[PathBuf],
    quiet: bool,
) -> ExitCode {
    let source = check::NameSource {
        names: cli.names.as_deref(),
        edl,
        include,
    };
    match check::run(policy, &source, quiet) {
        Ok(check::Outcome::Clean) => ExitCode::SUCCESS,
        Ok(check::Outcome::Errors) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kos-ipc-trace: check: {e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.cmd {
        Cmd::Check {
            policy,
            edl,
            include,
            quiet,
        } => return check_cmd(&cli, policy, edl, include, *quiet),
        Cmd::Generate { what } => {
            return generate::finish(generate::run(Cli::command(), what), "kos-ipc-trace")
        }
        Cmd::Summary { file } => summary(&cli, file),
        Cmd::Export { format, file, out } => export(&cli, *format, file, out),
        Cmd::PolicyFrom { file, output } => policy_from(&cli, file, output),
        Cmd::Merge { out, files, rename } => merge(&cli, out, files, rename),
        Cmd::Names {
            entities,
            include,
            output,
        } => names(entities, include, output),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kos-ipc-trace: {e}");
            ExitCode::FAILURE
        }
    }
}
