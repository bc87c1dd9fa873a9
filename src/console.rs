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
