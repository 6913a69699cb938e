//! Reading traces: a `.kst` file visited entry by entry with a progress
//! line for large files, the name map to show them with, and output files
//! (`-` for stdout).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use kos_ipc_shim::names::NameMap;
use kos_ipc_shim::trace::kst::{Entry, Header, KstError, KstReader};

/// Files larger than this get a progress line on stderr.
const PROGRESS_FROM: u64 = 4 << 20;

/// Percentage line on stderr for long conversions.
struct Progress {
    label: String,
    total: u64,
    shown: Option<u64>,
    /// Large enough, and stderr is a terminal (a percentage redrawn with
    /// `\r` is noise in a log file or a pipe).
    on: bool,
}

impl Progress {
    fn new(label: &str, total: u64) -> Progress {
        Progress {
            label: label.to_string(),
            total,
            shown: None,
            on: total >= PROGRESS_FROM && io::stderr().is_terminal(),
        }
    }

    fn at(&mut self, done: u64) {
        if !self.on {
            return;
        }
        let pct = (done.min(self.total) * 100) / self.total.max(1);
        if self.shown != Some(pct) {
            self.shown = Some(pct);
            eprint!("\r{}: {pct:3}%", self.label);
        }
    }

    fn done(&mut self) {
        if self.on {
            eprintln!("\r{}: 100%", self.label);
        }
    }
}

/// Counts bytes read, for progress over a buffered reader.
struct Counted<R> {
    inner: R,
    n: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.set(self.n.get() + k as u64);
        Ok(k)
    }
}

type Reader = KstReader<io::BufReader<Counted<File>>>;

fn open(path: &str) -> Result<(Reader, u64, std::rc::Rc<std::cell::Cell<u64>>), String> {
    let f = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let n = std::rc::Rc::new(std::cell::Cell::new(0));
    let counted = Counted {
        inner: f,
        n: n.clone(),
    };
    let r = KstReader::new(io::BufReader::with_capacity(1 << 16, counted), path)
        .map_err(|e| e.to_string())?;
    Ok((r, size, n))
}

/// The header of a trace (its names included), read without the entries.
pub fn header_of(path: &str) -> Result<Header, String> {
    Ok(open(path)?.0.header().clone())
}

/// What a trace holds, in file order.
pub enum Item<'a> {
    /// Thread `0` is called `1` from here on.
    Thread(u64, &'a str),
    /// A record.
    Entry(&'a Entry),
}

/// Visit every entry; stops at the first error.
pub fn each(
    path: &str,
    label: &str,
    mut f: impl FnMut(&Header, &Entry) -> Result<(), String>,
) -> Result<Header, String> {
    each_item(path, label, |h, item| match item {
        Item::Entry(e) => f(h, e),
        Item::Thread(..) => Ok(()),
    })
}

/// Visit every entry and thread name; stops at the first error.
pub fn each_item(
    path: &str,
    label: &str,
    mut f: impl FnMut(&Header, Item<'_>) -> Result<(), String>,
) -> Result<Header, String> {
    let (mut r, size, read) = open(path)?;
    let header = r.header().clone();
    let mut p = Progress::new(label, size);
    let mut n = 0u64;
    loop {
        let e = r.next().transpose().map_err(|e: KstError| e.to_string())?;
        for (tid, name) in r.take_thread_names() {
            f(&header, Item::Thread(tid, &name))?;
        }
        let Some(e) = e else { break };
        f(&header, Item::Entry(&e))?;
        n += 1;
        if n.is_multiple_of(4096) {
            p.at(read.get());
        }
    }
    p.done();
    Ok(header)
}

pub fn names_for(cli_names: &Option<PathBuf>, header: &Header) -> Result<NameMap, String> {
    match cli_names {
        Some(p) => NameMap::load(
            p.to_str()
                .ok_or_else(|| format!("{}: not a UTF-8 path", p.display()))?,
        ),
        None => Ok(header.names.clone()),
    }
}

/// The output file, or stdout for `-`.
pub fn create(path: &Path) -> Result<BufWriter<Box<dyn Write>>, String> {
    let w: Box<dyn Write> = if path == Path::new("-") {
        Box::new(io::stdout())
    } else {
        Box::new(File::create(path).map_err(|e| format!("{}: {e}", path.display()))?)
    };
    Ok(BufWriter::with_capacity(1 << 16, w))
}

pub fn io_err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}
