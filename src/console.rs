//! Standard output that a reader going away cannot crash.
//!
//! `println!` panics when stdout is a pipe whose reader has exited (`snnsim validate --json |
//! head -1`). Unix filters end quietly there; a simulator must also not lose a run because
//! nobody reads its progress lines any more. So results and progress go through [`outln!`]:
//! the first broken pipe turns later writes into no-ops and the program carries on (a command
//! that was only printing finishes at once; a run completes and writes its files). Any other
//! write error is reported once on stderr, likewise without stopping the program.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static GONE: AtomicBool = AtomicBool::new(false);

/// Writes `args` to standard output and flushes it, unless stdout has gone away.
pub fn write(args: fmt::Arguments) {
    if GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        GONE.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            eprintln!("snnsim: standard output is not writable ({e}); nothing more is printed");
        }
    }
}

/// `print!` that survives a closed pipe (see the module's documentation).
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::console::write(format_args!($($t)*)) };
}

/// `println!` that survives a closed pipe (see the module's documentation).
#[macro_export]
macro_rules! outln {
    () => { $crate::console::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::console::write(format_args!("{}\n", format_args!($($t)*))) };
}

/// Standard error with every line prefixed, for the ranks of a distributed run
/// (`[rank 3] …`): the process's file descriptor 2 becomes a pipe whose lines a thread copies,
/// prefixed, to the original standard error. Everything written there is caught this way —
/// the library's messages, progress, panics, the MPI library's own lines — without each
/// writer knowing about ranks. Dropping the guard restores descriptor 2 and writes out what
/// is left.
pub struct PrefixedStderr {
    saved: i32,
    copier: Option<std::thread::JoinHandle<()>>,
}

/// Prefixes every line written to standard error with `prefix` until the guard is dropped.
pub fn prefix_stderr(prefix: String) -> std::io::Result<PrefixedStderr> {
    use std::fs::File;
    use std::io::{BufRead, BufReader};
    use std::os::fd::FromRawFd;
    let os = std::io::Error::last_os_error;
    let mut fds = [0i32; 2];
    // SAFETY: plain descriptor calls on descriptors this function owns; each result is checked
    // before use, and each descriptor handed to a `File` is owned by it alone.
    unsafe {
        let saved = libc::dup(2);
        if saved < 0 {
            return Err(os());
        }
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            let e = os();
            libc::close(saved);
            return Err(e);
        }
        let out = libc::dup(saved);
        if out < 0 || libc::dup2(fds[1], 2) < 0 {
            let e = os();
            for fd in [saved, out, fds[0], fds[1]] {
                if fd >= 0 {
                    libc::close(fd);
                }
            }
            return Err(e);
        }
        libc::close(fds[1]);
        let reader = File::from_raw_fd(fds[0]);
        let mut out = File::from_raw_fd(out);
        let copier = std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let mut whole = prefix.as_bytes().to_vec();
                whole.extend_from_slice(&line);
                if line.last() != Some(&b'\n') {
                    whole.push(b'\n');
                }
                let _ = out.write_all(&whole);
                line.clear();
            }
        });
        Ok(PrefixedStderr {
            saved,
            copier: Some(copier),
        })
    }
}

impl Drop for PrefixedStderr {
    fn drop(&mut self) {
        let _ = std::io::stderr().flush();
        // SAFETY: `saved` is a descriptor this guard owns; putting it back on 2 closes the
        // pipe's last write end, so the copier reads to the end and stops.
        unsafe {
            libc::dup2(self.saved, 2);
            libc::close(self.saved);
        }
        if let Some(c) = self.copier.take() {
            let _ = c.join();
        }
    }
}

/// Standard output says nothing from now on: the ranks of a distributed run other than 0,
/// whose results rank 0 prints.
pub fn silence() {
    GONE.store(true, Ordering::Relaxed);
}
