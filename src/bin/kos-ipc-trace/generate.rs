//! `generate man DIR` and `generate completions SHELL DIR`: the man pages
//! and shell completions of a tool, made from its clap definition (so they
//! never disagree with `--help`). A hidden subcommand of kos-ipc-trace and
//! kos-host-run; `make install` runs it. Prints each file written.

use std::path::{Path, PathBuf};

use clap::{Command, Parser, Subcommand};
use clap_complete::Shell;

/// What to generate.
#[derive(Subcommand)]
pub enum What {
    /// Man pages: TOOL.1, and TOOL-SUBCOMMAND.1 for each subcommand.
    Man {
        /// Directory to write them to (created if missing).
        dir: PathBuf,
    },
    /// A completion script for SHELL, named as that shell looks for it
    /// (bash: TOOL.bash, zsh: _TOOL, fish: TOOL.fish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
        /// Directory to write it to (created if missing).
        dir: PathBuf,
    },
}

/// `TOOL generate ...` parsed on its own, for a tool whose command line has
/// no subcommands (kos-host-run).
#[derive(Parser)]
pub struct Alone {
    #[command(subcommand)]
    what: What,
}

fn mkdir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

/// Write what `what` asks for about `cmd`; the paths written.
pub fn run(mut cmd: Command, what: &What) -> Result<Vec<PathBuf>, String> {
    match what {
        What::Man { dir } => {
            mkdir(dir)?;
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            let mut written = Vec::new();
            man_pages(cmd, dir, &mut written)?;
            Ok(written)
        }
        What::Completions { shell, dir } => {
            mkdir(dir)?;
            let name = cmd.get_name().to_string();
            let p = clap_complete::generate_to(*shell, &mut cmd, name, dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            Ok(vec![p])
        }
    }
}

/// The page of `cmd`, then those of its visible subcommands.
fn man_pages(cmd: Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<(), String> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub.clone(), dir, written)?;
    }
    let p = clap_mangen::Man::new(cmd)
        .generate_to(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    written.push(p);
    Ok(())
}

/// Run `TOOL generate ...` for a tool without subcommands: `args` are the
/// words after `generate`. Exits like clap on a usage error.
// kos-host-run's entry; kos-ipc-trace has `generate` as a subcommand.
#[allow(dead_code)]
pub fn main_alone(
    tool: Command,
    args: impl Iterator<Item = std::ffi::OsString>,
) -> std::process::ExitCode {
    let name = tool.get_name().to_string();
    let alone = Alone::parse_from(std::iter::once(format!("{name} generate").into()).chain(args));
    finish(run(tool, &alone.what), &name)
}

/// Print the files written, or the error (exit status 1).
pub fn finish(r: Result<Vec<PathBuf>, String>, tool: &str) -> std::process::ExitCode {
    match r {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{tool}: generate: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
