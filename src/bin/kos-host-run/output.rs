//! Entity output, line by line, prefixed with the entity's name.
//!
//! One thread per pipe reads the child's stdout or stderr and writes each
//! line as `[name] line` with one `write_all` under the launcher's lock of
//! the same stream, so lines of different entities never mix mid-line. A
//! last line without a newline is written (with one) when the pipe closes;
//! a line longer than [`MAX_LINE`] is cut into pieces, each prefixed.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::mpsc::Sender;
use std::thread::{self, JoinHandle};

/// Longest piece written as one line.
pub const MAX_LINE: usize = 64 * 1024;

/// Which of the launcher's streams a pipe goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The launcher's stdout.
    Out,
    /// The launcher's stderr.
    Err,
}

/// Copy `from` to `to` line by line with `[name] ` in front of each line.
pub fn prefix_lines(from: impl Read, name: &str, mut to: impl FnMut(&[u8])) -> io::Result<()> {
    let mut r = BufReader::with_capacity(MAX_LINE, from);
    let head = format!("[{name}] ");
    let mut line = head.clone().into_bytes();
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            if line.len() > head.len() {
                line.push(b'\n');
                to(&line);
            }
            return Ok(());
        }
        let room = MAX_LINE - (line.len() - head.len());
        let (take, full) = match buf.iter().take(room).position(|&c| c == b'\n') {
            Some(i) => (i + 1, true),
            None if buf.len() >= room => (room, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if full {
            if line.last() != Some(&b'\n') {
                line.push(b'\n');
            }
            to(&line);
            line.truncate(head.len());
        }
    }
}

/// Start the thread that forwards `from` to `stream`; it sends `()` on
/// `done` when the pipe is closed (every writer of it has exited).
pub fn forward(
    from: impl Read + Send + 'static,
    name: &str,
    stream: Stream,
    done: Sender<()>,
) -> io::Result<JoinHandle<()>> {
    let name = name.to_string();
    thread::Builder::new()
        .name(format!("out-{name}"))
        .spawn(move || {
            let _ = prefix_lines(from, &name, |line| {
                // A launcher whose own output is gone keeps draining the
                // pipe, so the entity is not blocked on a full one.
                let _ = match stream {
                    Stream::Out => {
                        let mut o = io::stdout().lock();
                        o.write_all(line).and_then(|_| o.flush())
                    }
                    Stream::Err => io::stderr().lock().write_all(line),
                };
            });
            let _ = done.send(());
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        prefix_lines(input, "e.X", |l| {
            out.push(String::from_utf8_lossy(l).into_owned())
        })
        .unwrap();
        out
    }

    #[test]
    fn each_line_gets_the_name_and_a_partial_last_line_is_kept() {
        assert_eq!(lines(b"a\nbc\n"), vec!["[e.X] a\n", "[e.X] bc\n"]);
        assert_eq!(
            lines(b"a\n\nlast"),
            vec!["[e.X] a\n", "[e.X] \n", "[e.X] last\n"]
        );
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn a_very_long_line_is_cut_into_prefixed_pieces() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let got = lines(&long);
        assert_eq!(got.len(), 3);
        assert!(got
            .iter()
            .all(|l| l.starts_with("[e.X] x") && l.ends_with('\n')));
        assert_eq!(got[2].len(), "[e.X] ".len() + 10 + 1);
    }
}
